# Training pipeline targets (models/train/), included by the top-level Makefile.
#   make data                                   decode/index the training data into data/
#   make train CONFIG=small OBJECTIVE=restoregrad STEPS=10000 NAME=run1 [RESUME=1]
#   make export CKPT=runs/run1/last.pt BUNDLE=NAME [BLEND=0.2] [FLOOR=F]   any config (export.py)
#   make export-untrained CONFIG=tiny OBJECTIVE=restoregrad BUNDLE=/tmp/bundle
#   make pack                                   the data pack for a GPU machine: pack/ (pack.py)
#   make pytest-train                           fast CPU tests of the pipeline
#   make compare [STEPS=4000] [CONFIG=tf-rt] [SEED=1] [COMPARE_ARGS=...]
#                                               issue 12: six tf-rt runs, two at a time, resumable,
#                                               scored by the Go eval (models/train/experiments/compare.py)
#   make compare-eval [same variables]          only (re)score saved checkpoints and summarise
#   make compare-dev [same variables]           the four objectives' final checkpoints on the dev set
#   make eval-ckpts RUNS="compare-restoregrad compare-cdiffuse" [FLOOR=0]
#                                               PESQ/STOI of every checkpoint (Go eval, validation split)
#   make tune CKPT=runs/run1/last.pt            sampler schedule floor on the validation split
TRAIN_PY   ?= /usr/bin/python3
CONFIG     ?= small
OBJECTIVE  ?= restoregrad
STEPS      ?= 10000
BATCH      ?= 16
SEED       ?= 1
NAME       ?= $(CONFIG)-$(OBJECTIVE)
TRAIN_ARGS ?=
CKPT       ?= runs/$(NAME)/last.pt
BUNDLE     ?= $(NAME)
BLEND      ?= 0.0

RUNS       ?= compare-restoregrad compare-priorgrad compare-cdiffuse compare-restoregrad-noposterior
FLOOR      ?=

# Time-frequency models (the shipped ones; README.md "Time-frequency models"):
#   make train-tf | train-tf-rt [RESUME=1]      one thread each; run both at once. RESUME=1
#       continues runs/<cfg>-noposterior (or, on a fresh machine, the committed copy in
#       models/checkpoints/) with the settings it was trained with
#   make export-tf CKPT=models/checkpoints/tf-rt-chain/last.pt BUNDLE=restoregrad-rt [DEFAULT_STEPS=2 TF_FLOOR=40 RESTART=0.02]
TF_STEPS      ?= 200000
# the shipped runs are runs/<cfg>-noposterior
TF_OBJECTIVE  ?= restoregrad-noposterior
DEFAULT_STEPS ?= 2
TF_FLOOR      ?= 40
# the restart chain the shipped models were trained through (--chain-restart)
RESTART       ?= 0.02
.PHONY: train-tf train-tf-rt export-tf
train-tf train-tf-rt: train-%:
	nice -n 10 $(TRAIN_PY) -m models.train.train --config $* --objective $(TF_OBJECTIVE) --steps $(TF_STEPS) \
	  --batch 8 --seed 1 --ema 0.999 --threads 1 --ckpt-minutes 6 --out runs/$*-noposterior \
	  $(if $(RESUME),--resume,) $(TRAIN_ARGS)

export-tf:
	$(TRAIN_PY) -m models.train.export --checkpoint $(CKPT) \
	  --out $(if $(findstring /,$(BUNDLE)),$(BUNDLE),models/zoo/$(BUNDLE)) --default-steps $(DEFAULT_STEPS) \
	  --schedule-floor $(TF_FLOOR) --restart $(RESTART) --final-blend 0.2

.PHONY: data pack train export export-untrained pytest-train compare compare-eval compare-dev eval-ckpts tune

# compare's own defaults (tf-rt, 4000 steps) hold unless STEPS/CONFIG/SEED are given.
cmp_opt = $(if $(filter command line environment%,$(origin $(1))),$(2) $($(1)),)
COMPARE_ARGS ?=
COMPARE_OPTS = $(call cmp_opt,STEPS,--steps) $(call cmp_opt,CONFIG,--config) $(call cmp_opt,SEED,--seed) \
  $(COMPARE_ARGS)

data:
	$(TRAIN_PY) -m models.train.data prepare

pack:
	$(TRAIN_PY) -m models.train.pack

train:
	nice -n 5 $(TRAIN_PY) -m models.train.train --config $(CONFIG) --objective $(OBJECTIVE) \
	  --steps $(STEPS) --batch $(BATCH) --seed $(SEED) --out runs/$(NAME) \
	  $(if $(RESUME),--resume,) $(TRAIN_ARGS)

export:
	$(TRAIN_PY) -m models.train.export --checkpoint $(CKPT) \
	  --out $(if $(findstring /,$(BUNDLE)),$(BUNDLE),models/zoo/$(BUNDLE)) --final-blend $(BLEND) \
	  $(if $(FLOOR),--schedule-floor $(FLOOR),)

export-untrained:
	$(TRAIN_PY) -m models.train.export --untrained --config $(CONFIG) --objective $(OBJECTIVE) \
	  --out $(if $(findstring /,$(BUNDLE)),$(BUNDLE),models/zoo/$(BUNDLE))

pytest-train:
	$(TRAIN_PY) -m pytest -q models/train/tests

compare:
	$(TRAIN_PY) -m models.train.experiments.compare --resume $(COMPARE_OPTS)

compare-eval:
	$(TRAIN_PY) -m models.train.experiments.compare --only-eval $(COMPARE_OPTS)

compare-dev:
	$(TRAIN_PY) -m models.train.experiments.compare --dev $(COMPARE_OPTS)

eval-ckpts:
	$(TRAIN_PY) -m models.train.experiments.evalckpts $(RUNS) $(if $(FLOOR),--schedule-floor $(FLOOR),)

tune:
	$(TRAIN_PY) -m models.train.experiments.tune $(CKPT)
