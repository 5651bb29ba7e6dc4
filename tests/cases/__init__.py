"""Bug catalogues: plausible wrong answers per assignment, each naming the test cells it must fail."""
