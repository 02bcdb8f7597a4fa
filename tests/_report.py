"""Counts the robustness tests record for the end-of-run summary (issue 9: the run prints them)."""
RUN_REPORT: dict[str, str] = {}


def report(key: str, line: str) -> None:
    RUN_REPORT[key] = line
