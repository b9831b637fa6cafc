"""ModelScope's limits as the sandbox models them, read from the pinned SDK source (modelscope_hub
0.5.1 `constants.py`, `errors.py`, `_legacy_api.py`, `config.py`) and observed here through the
official client: the 2000-action commit cap (422), the commit-frequency throttle (429 E1021 with
Retry-After), one PUT per blob with no resume inside it, visibility codes 1/3/5, and the
deprecated MODELSCOPE_DOMAIN endpoint variable."""

from __future__ import annotations

import email.utils
import hashlib
import json
import random
import time
import urllib.error
import urllib.request

import pytest
import world
from test_sandbox_ms import admin_get, run_client, write_tree


@pytest.fixture(autouse=True)
def no_faults_left(sandbox):
    yield
    world.admin(sandbox, "/faults", method="DELETE")


def ms_log_since(sandbox, since: int) -> list[dict]:
    return admin_get(sandbox, f"/requests?platform=ms&since={since}")["requests"]


def last_seq(sandbox) -> int:
    log = admin_get(sandbox, "/requests?platform=ms")["requests"]
    return log[-1]["seq"] if log else 0


def create(sandbox, repo: str, visibility: str) -> None:
    run_client(
        sandbox,
        """
        from modelscope_hub.api import HubApi
        HubApi().create_repo(A["repo"], "model", visibility=A["vis"])
        out(True)
    """,
        {"repo": repo, "vis": visibility},
    )


def test_more_than_2000_actions_in_one_commit_is_refused_with_422(sandbox):
    result = run_client(
        sandbox,
        """
        from modelscope_hub.api import HubApi
        from modelscope_hub.constants import COMMIT_MAX_ACTIONS_PER_REQUEST
        api = HubApi()
        api.create_repo("alice/cap", "model", visibility="public")
        def ops(n):
            return [{"action": "create", "path": f"f{i}.txt", "type": "normal", "size": 1,
                     "sha256": "", "content": "eA==", "encoding": "base64"} for i in range(n)]
        try:
            api.legacy.create_commit("alice/cap", "model", ops(COMMIT_MAX_ACTIONS_PER_REQUEST + 1),
                                     "too big")
            refused = None
        except Exception as exc:
            refused = [type(exc).__name__, getattr(exc, "status_code", None), str(exc)]
        api.legacy.create_commit("alice/cap", "model", ops(COMMIT_MAX_ACTIONS_PER_REQUEST), "ok")
        files = [f.path for f in api.list_repo_files("alice/cap", "model")]
        out({"cap": COMMIT_MAX_ACTIONS_PER_REQUEST, "refused": refused, "files": len(files)})
    """,
    )
    assert result["cap"] == 2000
    name, status, message = result["refused"]
    assert status == 422 and "exceeds actions limit: 2001 > 2000" in message, result
    assert result["files"] == 2000 + 1  # and the default .gitattributes


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_commit_frequency_throttle_answers_e1021_with_retry_after(sandbox, tmp_path, form):
    """The official upload waits out a throttle burst: with seconds it honours Retry-After;
    modelscope_hub's raise_for_status reads only numbers, so with a date it backs off."""
    repo = f"alice/throttle-{form}"
    create(sandbox, repo, "public")
    request = urllib.request.Request(
        f"{sandbox['ms_endpoint']}/api/v1/repos/models/{repo}/commit/master",
        data=b'{"actions": []}',
        method="POST",
        headers={"Authorization": f"Bearer {world.MS_USERS['alice']}"},
    )
    world.admin(
        sandbox,
        "/faults",
        {"kind": "commit_throttle", "count": 3, "retry_after": 1, "retry_after_form": form},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    body = json.loads(refused.value.read())
    assert refused.value.code == 429 and body["Code"] == 429 and "E1021" in body["Message"]
    retry_after = refused.value.headers["Retry-After"]
    if form == "seconds":
        assert retry_after == "1"
    else:
        when = email.utils.parsedate_to_datetime(retry_after).timestamp()
        assert 0 < when - time.time() <= 3

    since = last_seq(sandbox)
    write_tree(tmp_path / "up", {"a.txt": b"a", "b.bin": random.Random(5).randbytes(100_000)})
    listed = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.upload_folder(repo_id=A["repo"], folder_path=A["up"], repo_type="model")
        out(sorted(f.path for f in api.list_repo_files(A["repo"], "model")))
    """,
        {"repo": repo, "up": str(tmp_path / "up")},
    )
    assert listed == [".gitattributes", "a.txt", "b.bin"]
    commits = [r["status"] for r in ms_log_since(sandbox, since) if "/commit/" in r["path"]]
    assert commits == [429, 429, 200]  # the third throttle bit the raw request above


def test_blob_put_is_one_request_without_resume(sandbox, tmp_path):
    """A PUT cut off mid-blob stores nothing and the client sends the whole blob again; a
    partial (Content-Range) PUT is refused."""
    data = random.Random(9).randbytes(400_000)
    oid = hashlib.sha256(data).hexdigest()
    write_tree(tmp_path / "up", {"w.bin": data})
    create(sandbox, "alice/cut-put", "private")
    since = last_seq(sandbox)
    world.admin(sandbox, "/faults", {"kind": "drop_upload", "after_bytes": 150_000})
    listed = run_client(
        sandbox,
        """
        from modelscope.hub.api import HubApi
        api = HubApi()
        api.upload_folder(repo_id="alice/cut-put", folder_path=A["up"], repo_type="model")
        out({f.path: f.sha256 for f in api.list_repo_files("alice/cut-put", "model")})
    """,
        {"up": str(tmp_path / "up")},
    )
    assert listed["w.bin"] == oid
    puts = [r for r in ms_log_since(sandbox, since) if r["method"] == "PUT"]
    assert [(r["fault"], r["status"]) for r in puts] == [("drop_upload", None), (None, 200)]
    assert puts[0]["bytes_in"] < len(data) and puts[1]["bytes_in"] == len(data)

    other = random.Random(10).randbytes(1000)
    request = urllib.request.Request(
        f"{sandbox['ms_endpoint']}/api/v1/repos/models/alice/cut-put/info/lfs/objects/"
        f"{hashlib.sha256(other).hexdigest()}",
        data=other[500:],
        method="PUT",
        headers={
            "Authorization": f"Bearer {world.MS_USERS['alice']}",
            "Content-Range": "bytes 500-999/1000",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400 and "Content-Range" in refused.value.read().decode()


def test_visibility_codes_1_3_5(sandbox):
    result = run_client(
        sandbox,
        """
        from modelscope_hub.api import HubApi
        from modelscope_hub.constants import Visibility
        api = HubApi()
        got = {}
        for label in ("private", "internal", "public"):
            api.create_repo(f"alice/vis-{label}", "model", visibility=label)
            info = api.get_repo(f"alice/vis-{label}", "model")
            got[label] = [int(Visibility.from_label(label)), info.visibility, info.private]
        out(got)
    """,
    )
    assert result == {
        "private": [1, 1, True],
        "internal": [3, 3, True],
        "public": [5, 5, False],
    }
    bob = run_client(
        sandbox,
        """
        from modelscope_hub.api import HubApi
        api = HubApi()
        out({r: api.repo_exists(f"alice/vis-{r}", "model") for r in ("internal", "public")})
    """,
        token=world.MS_USERS["bob"],
    )
    assert bob == {"internal": False, "public": True}


def test_deprecated_modelscope_domain_reaches_the_sandbox_only_with_a_scheme(sandbox):
    """modelscope_hub's config: MODELSCOPE_ENDPOINT > MODELSCOPE_DOMAIN (FutureWarning; a bare
    host becomes https://host) > https://modelscope.cn."""
    code = """
        import warnings
        from modelscope_hub.config import HubConfig
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            endpoint = HubConfig().endpoint
        out({"endpoint": endpoint, "warned": any("MODELSCOPE_DOMAIN" in str(w.message)
                                                 for w in caught)})
    """
    ms = sandbox["ms_endpoint"]
    host = ms.split("://", 1)[1]
    cases = {
        "domain-with-scheme": ({"MODELSCOPE_DOMAIN": ms}, ms, True),
        "bare-domain": ({"MODELSCOPE_DOMAIN": host}, f"https://{host}", True),
    }
    for env, want, warned in cases.values():
        got = run_client(sandbox, code, env={"MODELSCOPE_ENDPOINT": "", **env})
        assert got == {"endpoint": want, "warned": warned}, (env, got)
    both = run_client(sandbox, code, env={"MODELSCOPE_DOMAIN": "elsewhere.example"})
    assert both == {"endpoint": ms, "warned": False}
    listed = run_client(
        sandbox,
        """
        from modelscope_hub.api import HubApi
        out(HubApi().repo_exists("alice/vis-public", "model"))
    """,
        env={"MODELSCOPE_ENDPOINT": "", "MODELSCOPE_DOMAIN": ms},
    )
    assert listed is True
