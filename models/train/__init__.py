"""The RestoreGrad training pipeline: mix training pairs (data), train the networks under one
of the four objectives (train), and export them as a model bundle for the Go runtime (export).
The studies that score, compare and tune checkpoints live in the experiments subpackage."""
