"""llama.cpp's AMX kernels crash on the first real prompt (llama.cpp#20824); the app keeps off them."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.llm import cpu_guard

SAPPHIRE_RAPIDS = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu sse avx2 amx_bf16 amx_tile amx_int8\n"
OLDER_XEON = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f\n"


def cpuinfo(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    return path


def test_the_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    assert "amx_tile" in cpu_guard.cpu_flags(cpuinfo(tmp_path, SAPPHIRE_RAPIDS))
    assert cpu_guard.cpu_flags(cpuinfo(tmp_path, OLDER_XEON)) == {"fpu", "sse", "avx2", "avx512f"}
    assert cpu_guard.cpu_flags(tmp_path / "missing") == frozenset()


def test_repacking_is_off_only_where_the_cpu_has_amx(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ASSISTANT_LLAMA_REPACK", raising=False)
    monkeypatch.setattr(cpu_guard.sys, "platform", "linux")
    amx = cpu_guard.cpu_flags(cpuinfo(tmp_path, SAPPHIRE_RAPIDS))
    assert cpu_guard.repack_is_unsafe(amx)
    assert not cpu_guard.repack_is_unsafe(cpu_guard.cpu_flags(cpuinfo(tmp_path, OLDER_XEON)))
    monkeypatch.setenv("ASSISTANT_LLAMA_REPACK", "1")  # a llama.cpp where it is fixed
    assert not cpu_guard.repack_is_unsafe(amx)


@pytest.mark.slow
def test_on_this_machine_the_model_answers_a_real_prompt(starter_model_path: Path) -> None:
    # In a child process: without the guard an AMX CPU dies with SIGSEGV, which would end the test run.
    import subprocess
    import sys

    script = (
        "import sys;"
        "from assistant.llm.runner import ChatMessage, ModelRunner;"
        "runner = ModelRunner(sys.argv[1], context_size=512, threads=2);"
        "print(repr(runner.chat([ChatMessage('user', 'Name three colours of the rainbow, please.')],"
        " max_tokens=8, temperature=0.0)))"
    )
    done = subprocess.run([sys.executable, "-c", script, str(starter_model_path)], capture_output=True, text=True)
    assert done.returncode == 0, (done.returncode, done.stderr[-500:])
    assert done.stdout.strip() not in ("", "''")
    if cpu_guard.repack_is_unsafe():
        import llama_cpp.llama_cpp as native

        assert cpu_guard.keep_llama_off_crashing_kernels()
        assert native.llama_model_default_params().use_extra_bufts is False
