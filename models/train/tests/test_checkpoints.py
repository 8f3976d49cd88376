"""The committed checkpoints stay loadable across module moves, and the commands the model cards
record still parse to the settings the checkpoints were trained with."""
import io
import pickletools
import shlex
import zipfile
from pathlib import Path

import pytest

from models.train import export as E
from models.train import networks as N
from models.train import params
from models.train import train as T

ROOT = Path(__file__).resolve().parents[3]
CHECKPOINTS = sorted((ROOT / "models" / "checkpoints").glob("*/*.pt"))
# What a checkpoint may name by module path: torch's tensor rebuilding and an OrderedDict.
ALLOWED = {"collections OrderedDict", "torch._utils _rebuild_tensor_v2", "torch FloatStorage",
           "torch ByteStorage", "torch LongStorage", "torch IntStorage", "torch BoolStorage",
           "torch HalfStorage", "torch DoubleStorage", "torch BFloat16Storage", "torch._utils _rebuild_parameter"}


def _globals(path: Path) -> set[str]:
    """The classes and functions a torch zip checkpoint's pickle refers to by module path."""
    with zipfile.ZipFile(path) as z:
        data = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    found, strings, memo = set(), [], {}
    for op, arg, _ in pickletools.genops(io.BytesIO(data)):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
            strings.append(arg)
        elif op.name == "MEMOIZE" and strings:
            memo[len(memo)] = strings[-1]
        elif op.name in ("BINGET", "LONG_BINGET", "GET") and arg in memo:
            strings.append(memo[arg])
        elif op.name in ("GLOBAL", "INST"):
            found.add(arg)
        elif op.name == "STACK_GLOBAL":
            found.add(" ".join(strings[-2:]))
    return found


@pytest.mark.parametrize("path", CHECKPOINTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_checkpoint_names_no_project_class(path):
    assert _globals(path) <= ALLOWED
    nets, meta = N.load_networks(path)
    assert meta["config"] in params.CONFIGS and nets.cfg.name == meta["config"]


def _commands(module: str) -> list[list[str]]:
    prefix = f"/usr/bin/python3 -m models.train.{module} "
    out = []
    for card in sorted((ROOT / "models" / "zoo").glob("*/CARD.md")):
        out += [shlex.split(line[len(prefix):]) for line in card.read_text().splitlines() if line.startswith(prefix)]
    return out


def test_card_commands_parse():
    train, export = _commands("train"), _commands("export")
    assert len(train) >= 20 and len(export) == 2
    for argv in train:
        T.parser().parse_args(argv)
    for argv in export:
        E.parser().parse_args(argv)


def test_generic_flags_give_the_recorded_overrides():
    """Every command a shipped checkpoint recorded yields, through the flags derived from
    params.Config, the overrides that the hand-written flag list gave it then."""
    ck = N.load_checkpoint(ROOT / "models" / "checkpoints" / "tf-rt-v2" / "last.pt")
    meta = ck["meta"]
    runs = [(meta["command"], None)] + [(r["command"], r["overrides"]) for r in meta.get("resumed", [])]
    runs += [(r["command"], r["overrides"]) for r in meta["init_from"].get("resumed", [])]
    assert len(runs) >= 10
    for command, recorded in runs:
        got = T.config_overrides(T.parser().parse_args(shlex.split(command)[3:]))
        if recorded is None:  # the run's first command: its overrides
            recorded = meta["overrides"]
        # train.py adds the config's param and head (so that checkpoints outlive default
        # changes; older versions did so to resumed commands too) and where a decay starts.
        cfg = params.get("tf-rt")
        recorded = {k: v for k, v in recorded.items()
                    if k != "lr_decay_from" and not (k in ("param", "head") and v == getattr(cfg, k) and k not in got)}
        assert got == recorded, command


def test_every_config_field_is_a_flag():
    p = T.parser()
    a = p.parse_args(["--out", "x", "--sigma-per-frame", "--aux-mr", "5", "--no-causal", "--recipe", "v2"])
    assert T.config_overrides(a) == {"sigma_per_frame": True, "aux_mr": 5.0, "causal": False, "recipe": "v2"}
    flags = {o for act in p._actions for o in act.option_strings}
    for name in params.override_fields():
        assert "--" + name.replace("_", "-") in flags, name
    assert params.parse_overrides(["channels=16", "sigma_per_frame=yes", "s_min=0.2"], params.get("rt")) == \
        {"channels": 16, "sigma_per_frame": True, "s_min": 0.2}
