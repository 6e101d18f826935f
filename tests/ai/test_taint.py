"""The AST taint pass: it follows the data (constants folded, functions followed), and its
facts confirm model findings that no pattern rule reports."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from codeforge.ai.grounding import ground
from codeforge.ai.review import static_review
from codeforge.ai.taint import taint_findings


def flows(tmp_path: Path, code: str) -> list[tuple[int, str]]:
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent(code))
    return [(f.line, f.cwe) for f in taint_findings(path)]


CASES = {
    "the trap: a constant test picks the constant": (
        """
        import os
        num = 106
        user_input = input()
        x = "safe" if 7 * 18 + num > 200 else user_input
        os.system("echo " + x)
        """,
        [],
    ),
    "the trap turned round: the input is picked": (
        """
        import os
        num = 106
        user_input = input()
        x = "safe" if 7 * 18 + num < 200 else user_input
        os.system("echo " + x)
        """,
        [(6, "CWE-78")],
    ),
    "an unknown test keeps both branches": (
        """
        import os, random
        x = "safe" if random.random() > 0.5 else input()
        os.system(x)
        """,
        [(4, "CWE-78")],
    ),
    "parameters are not string building": (
        """
        import sys
        def q(conn):
            name = sys.argv[1]
            conn.execute("SELECT * FROM t WHERE n = ?", (name,))
            conn.execute(f"SELECT * FROM t WHERE n = '{name}'")
        """,
        [(6, "CWE-89")],
    ),
    "shell=True only": (
        """
        import os, subprocess
        cmd = os.environ.get("CMD", "ls")
        subprocess.run([cmd], shell=False)
        subprocess.run(cmd, shell=True)
        """,
        [(5, "CWE-78")],
    ),
    "sanitisers clean": (
        """
        import os, shlex
        n = int(os.environ["N"])
        eval(str(n))
        os.system("ls " + shlex.quote(input()))
        """,
        [],
    ),
    "eval of request data": (
        """
        from flask import request
        def view():
            expr = request.args.get("q")
            return eval(expr)
        """,
        [(5, "CWE-94")],
    ),
    "a constant reassignment clears": (
        """
        import os
        x = input()
        x = "ls"
        os.system(x)
        """,
        [],
    ),
    "a branch adds taint": (
        """
        import os, sys
        x = "ls"
        if len(sys.argv) > 2:
            x = sys.argv[2]
        os.system(x)
        """,
        [(6, "CWE-78")],
    ),
    "through functions and returns": (
        """
        import subprocess
        def ask():
            return input("cmd? ")
        def run(cmd):
            return subprocess.call(cmd, shell=True)
        def main():
            run(ask())
        """,
        [(6, "CWE-78")],
    ),
    "a path built from a request reaches open()": (
        """
        import os
        from flask import request
        def download():
            with open(os.path.join("/srv", request.args.get("f")), "rb") as fh:
                return fh.read()
        """,
        [(5, "CWE-22")],
    ),
    "a path object built from argv is read; basename sanitises": (
        """
        import os
        import sys
        from pathlib import Path
        (Path("/data") / sys.argv[1]).read_text()
        safe = os.path.basename(sys.argv[1])
        open(os.path.join("/data", safe))
        os.remove("/data/" + os.environ["NAME"])
        """,
        [(5, "CWE-22"), (8, "CWE-22")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_taint_pass_follows_the_data(tmp_path: Path, case: str) -> None:
    code, expected = CASES[case]
    assert flows(tmp_path, code) == expected


def test_a_file_that_does_not_parse_has_no_taint_findings(tmp_path: Path) -> None:
    assert flows(tmp_path, "def (:\n") == []


SPLIT_SQL = """import sqlite3


def find(name):
    query = "SELECT * FROM users WHERE name = '%s'" % name
    conn = sqlite3.connect("app.db")
    cursor = conn.cursor()
    return cursor.execute(query).fetchall()


def main():
    print(find(input("name? ")))
"""


def test_taint_facts_confirm_a_model_finding_no_pattern_rule_reports(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text(SPLIT_SQL)
    static, not_run = static_review([path])
    assert not_run == {}
    [taint] = [f for f in static if f.source == "taint"]
    assert (taint.line, taint.cwe) == (8, "CWE-89")
    assert taint.flow == (
        "input() at line 12 reaches execute() on built SQL at line 8 through find(name), query."
    )
    assert not [f for f in static if f.source != "taint" and abs(f.line - 8) <= 1]
    claim = {
        "line": 8,
        "cwe": "CWE-89",
        "quote": "cursor.execute(query)",
        "flow": "name comes from input() in main and is formatted into the query.",
        "severity": "critical",
        "message": "SQL injection",
    }
    [kept], dropped = ground([claim], str(path), SPLIT_SQL, static)
    assert dropped == []
    assert (kept.severity, kept.confirmed_by) == ("critical", "taint:CWE-89 at line 8")
