"""Runs several port programs in one process, so each runtime costs one Python start rather than
one per program. PORT_PLAN is a JSON list of {"program", "base_url", "record"}; each program
runs as `__main__` with BASE_URL and RECORD set, and a failure is written to its record as
{"error": traceback} so the others still run."""

import json
import os
import runpy
import traceback


def main() -> None:
    for entry in json.loads(os.environ["PORT_PLAN"]):
        os.environ["BASE_URL"] = entry["base_url"]
        os.environ["RECORD"] = entry["record"]
        try:
            runpy.run_module(f"{__package__}.{entry['program']}", run_name="__main__")
        except BaseException:
            with open(entry["record"], "w") as f:
                json.dump({"error": traceback.format_exc()}, f)


if __name__ == "__main__":
    main()
