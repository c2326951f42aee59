import pytest
import torch

from siren.cli import main


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(params=["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def device(request):
    """Every device this machine has."""
    return torch.device(request.param)


@pytest.fixture
def one_thread():
    """One intra-op thread for tiny, overhead-bound problems (much faster than two on busy cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def cli_error(capsys):
    """Run the CLI on bad input: assert exit code 2 and exactly one line `error: ...` on stderr; return it."""
    def run(argv: list[str]) -> str:
        code, err = main(argv), capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], (code, err)
        return err[0]
    return run
