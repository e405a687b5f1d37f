"""`krmfn verify` at the edge: flags, the plan from the input, the error contract, lazy imports."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from conftest import run_cli
from verifyplans import two_domains

from krmfn import cli
from krmfn.errors import InputError
from krmfn.verify.report import CHECKS
from krmfn.verify.resolver import parse_address, system_nameserver

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "routes-second-domain" / "pkg"
PLAN_SCHEMA = json.loads((ROOT / "schema" / "plan.schema.json").read_text())
VERIFY_SCHEMA = json.loads((ROOT / "schema" / "verify.schema.json").read_text())


def _example_input() -> bytes:
    docs = [
        (EXAMPLE / name).read_text() for name in ("multidomain.yaml", "apps.yaml", "envoy.yaml", "external-dns.yaml")
    ]
    return "\n---\n".join(docs).encode()


@pytest.fixture
def plan_file(tmp_path: Path) -> str:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(two_domains()))
    return str(path)


def _main(args: list[str], stdin: bytes = b"") -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(["verify", *args], stdin=io.BytesIO(stdin), stdout=out), out.getvalue()


def test_the_inputs_plan_is_checked_against_zone_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same input as `krmfn plan`: the seed's fault on the second domain is found."""
    com, org = tmp_path / "com.zone", tmp_path / "org.zone"
    com.write_text(
        "$ORIGIN example.com.\n@ 60 IN SOA ns.test. h.test. 1 2 3 4 5\n"
        "echo 60 IN CNAME external\nexternal 60 IN A 127.0.0.1\n"
    )
    org.write_text(
        "$ORIGIN example.org.\n@ 60 IN SOA ns.test. h.test. 1 2 3 4 5\nwiki 60 IN CNAME external.example.com.\n"
    )
    code, text = _main(
        ["--var", "SECRET_DOMAIN=example.com", "--zone", str(com), "--zone", str(org), "--json"], _example_input()
    )
    assert code == 1
    document = json.loads(text)
    jsonschema.Draft202012Validator(VERIFY_SCHEMA).validate(document)
    checks = {h["name"]: {c["check"]: c for c in h["checks"]} for d in document["domains"] for h in d["hostnames"]}
    assert checks["echo.example.com"]["dns.record"]["status"] == "pass"
    assert checks["echo.example.com"]["dns.chain"]["found"] == "echo.example.com → external.example.com → 127.0.0.1"
    wiki = checks["wiki.example.org"]["dns.record"]
    assert wiki["status"] == "fail"
    assert "it points at the primary domain's target external.example.com" in wiki["message"]
    assert document["domains"][0]["planned"] == "${SECRET_DOMAIN}"


def test_the_inputs_plan_document_follows_the_plan_schema() -> None:
    document = cli._plan_of_input(_example_input(), None)
    jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(document)


def test_an_input_that_does_not_render_is_not_verified(capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _main(
        ["--var", "SECRET_DOMAIN=example.com"], b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    )
    assert (code, text) == (1, "")
    assert capsys.readouterr().err.startswith("krmfn: error: the function config must be a MultiDomain")
    bad = _example_input().replace(b"- name: example.org", b"- name: example..org")
    assert _main([], bad) == (1, "")
    assert "krmfn: error:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "x"], "krmfn: error: verify: argument --timeout: 'x' must be a number of seconds above 0"),
        (["--deadline", "-1"], "krmfn: error: verify: argument --deadline: '-1' must be a number of seconds above 0"),
        (["--deadline", "nan"], "krmfn: error: verify: argument --deadline: 'nan' must be a number of seconds above 0"),
        (["--port", "0"], "krmfn: error: verify: argument --port: '0' must be a port number from 1 to 65535"),
        (["--workers", "999"], "krmfn: error: verify: argument --workers: '999' must be a whole number from 1 to 256"),
        (["--bogus"], "krmfn: error: verify: unrecognized arguments: --bogus (see krmfn verify --help)"),
        (
            ["--plan", "p.json", "--config", "c.yaml"],
            "krmfn: error: verify: --plan FILE and --config FILE cannot be combined",
        ),
        (
            ["--zone", "z", "--http"],
            "krmfn: error: verify: --zone compares offline, DNS only: it cannot be combined with --http",
        ),
        (
            ["--plan", "/nonexistent/plan.json"],
            "krmfn: error: --plan /nonexistent/plan.json must be a readable file: No such file or directory",
        ),
        (
            ["--vars", "/nonexistent/vars", "--plan", "{plan}"],
            "krmfn: error: --vars /nonexistent/vars must be a readable file",
        ),
        (["--var", "NOEQUALS", "--plan", "{plan}"], "krmfn: error: --var NOEQUALS must be KEY=VALUE"),
        (
            ["--plan", "{plan}"],
            "krmfn: error: Flux variable(s) not defined: ${SECRET_DOMAIN} (used at `domains[0].name`); ${SECRET_DOMAIN_TWO}",
        ),
        (
            [
                "--plan",
                "{plan}",
                "--var",
                "SECRET_DOMAIN=a",
                "--var",
                "SECRET_DOMAIN_TWO=b",
                "--nameserver",
                "127.0.0.1:99999",
            ],
            "krmfn: error: --nameserver 127.0.0.1:99999: the port must be a number from 1 to 65535",
        ),
        (
            ["--plan", "{plan}", "--var", "SECRET_DOMAIN=a", "--var", "SECRET_DOMAIN_TWO=b", "--connect", ":443"],
            "krmfn: error: --connect :443 must name a host",
        ),
        (
            [
                "--plan",
                "{plan}",
                "--var",
                "SECRET_DOMAIN=a",
                "--var",
                "SECRET_DOMAIN_TWO=b",
                "--cafile",
                "/nonexistent/ca.pem",
            ],
            "krmfn: error: --cafile /nonexistent/ca.pem must be a readable file of PEM certificates",
        ),
        (
            [
                "--plan",
                "{plan}",
                "--var",
                "SECRET_DOMAIN=a",
                "--var",
                "SECRET_DOMAIN_TWO=b",
                "--zone",
                "/nonexistent/z",
            ],
            "krmfn: error: --zone /nonexistent/z must be a readable file",
        ),
    ],
)
def test_bad_flags_give_one_line_naming_the_flag(
    args: list[str], message: str, plan_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _main([a.replace("{plan}", plan_file) for a in args])
    err = capsys.readouterr().err
    assert (code, text) == (1, "")
    assert err.startswith(message), err
    assert err.count("\n") == 1


def test_a_plan_file_that_is_not_a_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.json"
    path.write_text("[1,\n")
    assert _main(["--plan", str(path)]) == (1, "")
    assert capsys.readouterr().err == f"krmfn: error: --plan {path} must be the JSON of `krmfn plan --json` (line 2)\n"
    path.write_text('{"kind": "Plan"}')
    assert _main(["--plan", str(path)]) == (1, "")
    assert "must be a `krmfn plan --json` document" in capsys.readouterr().err
    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate\n")
    path.write_text(json.dumps(two_domains()))
    assert _main(
        ["--plan", str(path), "--var", "SECRET_DOMAIN=a", "--var", "SECRET_DOMAIN_TWO=b", "--cafile", str(ca)]
    ) == (1, "")
    assert capsys.readouterr().err.startswith(
        f"krmfn: error: --cafile {ca} must be a readable file of PEM certificates"
    )


def test_the_console_script_keeps_the_contract(plan_file: str) -> None:
    """Through the installed command: one line, exit 1, no traceback, no secret value."""
    done = run_cli(["verify", "--plan", plan_file, "--var", "SECRET_DOMAIN=example.com", "--var", "TOKEN=hunter2"], b"")
    err = done.stderr.decode()
    assert done.returncode == 1
    assert err == (
        "krmfn: error: Flux variable(s) not defined: ${SECRET_DOMAIN_TWO} (used at `domains[1].name`); "
        "give them with --vars FILE or --var SECRET_DOMAIN_TWO=VALUE\n"
    )
    assert "hunter2" not in err
    assert "Traceback" not in err
    helped = run_cli(["verify", "--help"], b"")
    assert helped.returncode == 0
    assert b"--nameserver HOST[:PORT]" in helped.stdout
    assert b"apex-404" in helped.stdout


def test_the_function_never_imports_verify_or_its_libraries() -> None:
    """The KRM function's cold start does not pay for dnspython or cryptography."""
    probe = (
        "import sys\n"
        "from krmfn.cli import run\n"
        "text, code = run(open(sys.argv[1], 'rb').read())\n"
        "assert code == 0, text\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('dns', 'cryptography') or m.startswith('krmfn.verify')]\n"
        "print(loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "examples" / "single-domain" / "pkg" / "multidomain.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


def test_without_the_extra_verify_says_how_to_install_it() -> None:
    probe = (
        "import sys\n"
        "sys.modules['dns'] = None\n"
        "from krmfn.cli import main\n"
        "raise SystemExit(main(['verify', '--plan', 'plan.json']))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr == (
        "krmfn: error: krmfn verify needs the `verify` extra (dns is missing): pip install 'krmfn[verify]'\n"
    )


def test_the_system_nameserver_comes_from_resolv_conf(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example.com\nnameserver 127.0.0.53\nnameserver 127.0.0.54\n")
    assert system_nameserver(str(conf)).describe() == "127.0.0.53:53"
    conf.write_text("search example.com\n")
    with pytest.raises(InputError, match=r"names no nameserver: give one with --nameserver"):
        system_nameserver(str(conf))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("[::1]", ("::1", 53)),
        ("::1", ("::1", 53)),
    ],
)
def test_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text, "--nameserver", 53) == expected


def test_a_name_is_resolved_once_from_the_hosts_file() -> None:
    address, port = parse_address("localhost:5353", "--connect", 443)
    assert address in ("127.0.0.1", "::1")
    assert port == 5353
    with pytest.raises(InputError, match=r"^--connect no-such-host\.invalid:443: the host does not resolve"):
        parse_address("no-such-host.invalid:443", "--connect", 443)


def test_the_schema_names_every_check() -> None:
    assert VERIFY_SCHEMA["$defs"]["check"]["properties"]["check"]["enum"] == list(CHECKS)


def test_a_bug_is_one_line_not_a_traceback(
    plan_file: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from krmfn.verify import command

    def broken(*args: object) -> int:
        raise KeyError("boom")

    monkeypatch.setattr(command, "execute", broken)
    assert _main(["--plan", plan_file]) == (1, "")
    assert capsys.readouterr().err.startswith("krmfn: error: internal error, a bug in krmfn")
