"""python -m examples: every example case's report, then whether each said what its case states."""

import sys

from examples import all_cases


def main() -> int:
    surprises = []
    for case in all_cases():
        report = case.run()
        print(f"{report}\n")
        surprises += case.surprises(report)
    print("\n".join(surprises) or "every case reported as stated")
    return 1 if surprises else 0


if __name__ == "__main__":
    sys.exit(main())
