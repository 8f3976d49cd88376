"""Studies on trained checkpoints: scoring through the Go eval, the objective comparison,
schedule tuning, validation slices and diagnostics. The pipeline never imports them."""
