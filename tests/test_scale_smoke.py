"""deploy/nginx.conf as bench/scale.py fills it in: nginx accepts it, and it says what the portal needs.

The whole scale test (two instances, a worker, nginx, one instance killed) is
`make scale SCALE_ARGS=--quick`; it needs PostgreSQL and Redis, so it is not
part of the suite. These checks need only Debian's nginx binary.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.scale import NGINX_TEMPLATE, Nginx, render_nginx_conf
from webapp.config import Config

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.fixture
def rendered(tmp_path) -> tuple[Nginx, str]:
    nginx = Nginx.__new__(Nginx)
    nginx.port, nginx.upstreams, nginx.state_dir = 8399, ["127.0.0.1:8301", "127.0.0.1:8302"], tmp_path / "nginx"
    nginx.conf = nginx.state_dir / "nginx.conf"
    nginx.binary = NGINX
    nginx.write_conf()
    return nginx, nginx.conf.read_text()


def test_every_placeholder_is_filled_and_nginx_variables_are_kept(rendered):
    _, text = rendered
    assert "${QYZMET_" not in text
    assert "server 127.0.0.1:8301 max_fails=1" in text and "server 127.0.0.1:8302" in text
    # nginx's own variables survive the substitution.
    for variable in ("$request_id", "$proxy_add_x_forwarded_for", "$scheme", "$upstream_addr"):
        assert variable in text


def test_an_unknown_placeholder_is_an_error():
    with pytest.raises(KeyError):
        render_nginx_conf("listen ${QYZMET_NOPE};", {})


def test_body_limit_lets_the_portal_answer_just_over_its_own():
    """nginx passes a body a little over MAX_CONTENT_LENGTH, so the portal's translated 413 answers it."""
    text = NGINX_TEMPLATE.read_text()
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", text).group(1))
    assert megabytes * 1024 * 1024 == Config.MAX_CONTENT_LENGTH + 1024 * 1024


def test_posts_are_never_replayed_by_nginx():
    directive = re.search(r"proxy_next_upstream ([^;]+);", NGINX_TEMPLATE.read_text()).group(1).split()
    assert directive == ["error", "timeout", "http_502", "http_503"]
    assert "non_idempotent" not in directive


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make nginx)")
def test_nginx_accepts_the_generated_config(rendered):
    nginx, _ = rendered
    result = subprocess.run([*nginx._args(), "-t"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
