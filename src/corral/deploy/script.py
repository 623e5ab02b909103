"""Provides the bash scripts `corral deploy` runs on each host, one per action.

Each action is one script sent over one ssh connection (PM2 opens one per step), so a
step that fails can undo what came before it on the same shell: a deploy whose reset or
post-deploy hook fails puts `source` back at the commit it was at and records nothing,
which leaves `current` as it was. Scripts talk back on their own output with marker lines
(`::corral:: commit <sha>`), which the runner takes out of what it shows.

Every value from the config is passed shell-quoted, except `path`, which the remote shell
expands as PM2's does (`~/app`, `$HOME/app`).
"""

from __future__ import annotations

import shlex

from corral.deploy.config import DeployTarget

MARK = "::corral::"
"""Start of a line a script writes for the runner, not for people."""

_PRELUDE = f"""\
set -u
say() {{ printf '%s %s\\n' '{MARK}' "$*"; }}
step() {{ printf -- '--> %s\\n' "$*"; }}
fail() {{ say "error $*"; exit 1; }}
say start
"""

_RUN_HOOK = """\
run_hook() {  # NAME COMMAND: run COMMAND in current, with SHARED set, as PM2's hooks run
  step "$1"
  ( cd "$P/current" && export SHARED="$P/shared" && exec bash -c "$2" )
}
"""

_LOCK = """\
if command -v flock >/dev/null 2>&1; then
  exec 9>"$P/.deploy.lock" || fail "cannot write $P/.deploy.lock"
  flock -n 9 || fail "another deploy to $P is running"
fi
"""

_NEEDS_SETUP = """\
[ -d "$P/source/.git" ] || fail "$P is not set up; run 'corral deploy ENV setup' first"
cd "$P/source" || fail "cannot enter $P/source"
"""

_SHOW_COMMIT = "git log -1 --format='%h  %ad  %s' --date=short"


def remote_path(path: str) -> str:
    """PATH as a shell word that expands `~` and `$VARS` remotely but keeps spaces."""
    home = ""
    if path == "~" or path.startswith("~/"):
        home, path = '"$HOME"', path[1:]
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`")
    return f'{home}"{escaped}"' if escaped else home


def _head(target: DeployTarget) -> str:
    return _PRELUDE + f"P={remote_path(target.path)}\nP=${{P%/}}\n" + _RUN_HOOK


def setup(target: DeployTarget, pre_setup: str | None) -> str:
    """PM2's setup: pre-setup, `{source,shared}`, clone the branch, link current, post-setup.

    PRE_SETUP is the command to run first (a local script file's text when the config
    names one); it runs in the login directory, since `path` may not exist yet.
    """
    depth = " --depth=5" if target.fetch_fast else ""
    lines = [_head(target)]
    if pre_setup:
        quoted = shlex.quote(pre_setup)
        lines.append(f'step pre-setup\nbash -c {quoted} || fail "pre-setup exited $?"')
    lines.append(
        f"""\
if [ -n "$(ls -A "$P/source" 2>/dev/null)" ]; then
  fail "$P is already set up ($P/source is not empty)"
fi
mkdir -p "$P/shared/logs" "$P/shared/pids" "$P/source" || fail "cannot create $P"
step "cloning {target.repo} ({target.branch}) into $P/source"
git clone{depth} --branch {shlex.quote(target.branch)} {shlex.quote(target.repo)} "$P/source" \\
  || fail "git clone failed"
ln -sfn "$P/source" "$P/current" || fail "cannot link $P/current"
say commit "$(git -C "$P/source" rev-parse HEAD)"
"""
    )
    if target.post_setup:
        lines.append(
            f'run_hook post-setup {shlex.quote(target.post_setup)} || fail "post-setup exited $?"'
        )
    lines.append('step "setup done: $P/current"')
    return "\n".join(lines) + "\n"


def deploy(target: DeployTarget, ref: str | None, *, back: int | None = None) -> str:
    """Deploy REF (fetching first), or with BACK=N the commit deployed N deploys ago.

    The sequence is PM2's (pre-deploy, fetch, reset, link current, post-deploy), except
    that the commit is appended to `.deploys` only after post-deploy succeeds, and a
    failing step after the reset restores the previous commit.
    """
    lines = [_head(target), _NEEDS_SETUP, _LOCK]
    lines.append(
        """\
PREV=$(git rev-parse HEAD) || fail "no commit checked out in $P/source"
say commit "$PREV"
restore() {
  git -C "$P/source" reset -q --hard "$PREV" && ln -sfn "$P/source" "$P/current" \\
    && step "restored $PREV" && say commit "$PREV"
}
"""
    )
    if back is not None:
        lines.append(
            f"""\
N={back}
COUNT=$(grep -c . "$P/.deploys" 2>/dev/null || true)
[ "${{COUNT:-0}}" -gt "$N" ] || fail "cannot go back $N deploy(s): ${{COUNT:-0}} recorded"
REF=$(grep . "$P/.deploys" | tail -n $((N + 1)) | head -n 1)
step "reverting $N deploy(s), to $REF"
"""
        )
    else:
        lines.append(f"REF={shlex.quote(ref or target.ref)}")
    if target.pre_deploy:
        lines.append(
            f"run_hook pre-deploy {shlex.quote(target.pre_deploy)} "
            '|| fail "pre-deploy exited $?; nothing changed"'
        )
    if back is None:
        depth = " --depth=5" if target.fetch_fast else ""
        lines.append(
            f"""\
step "fetching {target.repo}"
git remote set-url origin {shlex.quote(target.repo)} || fail "cannot set the origin url"
git fetch --all --tags{depth} || fail "git fetch failed; nothing changed"
"""
        )
    exports = "".join(f"export {k}={shlex.quote(v)}; " for k, v in target.env_vars)
    lines.append(
        f"""\
step "resetting to $REF"
git reset --hard "$REF" || {{ restore; fail "git reset --hard $REF failed; current unchanged"; }}
ln -sfn "$P/source" "$P/current" || {{ restore; fail "cannot link $P/current"; }}
NEW=$(git rev-parse HEAD)
say commit "$NEW"
( {exports}run_hook post-deploy {shlex.quote(target.post_deploy)} ) || {{
  RC=$?; restore
  fail "post-deploy exited $RC; current left at ${{PREV:0:12}}"
}}
echo "$NEW" >> "$P/.deploys" || fail "cannot append to $P/.deploys"
step "deployed $({_SHOW_COMMIT} "$NEW")"
"""
    )
    return "\n".join(lines)


def current(target: DeployTarget) -> str:
    """The commit `current` is at (PM2 prints its short hash)."""
    body = f"""\
C=$(git rev-parse HEAD) || fail "no commit checked out"
say commit "$C"
{_SHOW_COMMIT} "$C"
"""
    return _head(target) + _NEEDS_SETUP + body


def previous(target: DeployTarget) -> str:
    """The commit deployed before the current one (second-last line of `.deploys`)."""
    body = f"""\
COUNT=$(grep -c . "$P/.deploys" 2>/dev/null || true)
[ "${{COUNT:-0}}" -ge 2 ] || fail "fewer than 2 deploys recorded"
C=$(grep . "$P/.deploys" | tail -n 2 | head -n 1)
say commit "$C"
{_SHOW_COMMIT} "$C" 2>/dev/null || echo "$C"
"""
    return _head(target) + _NEEDS_SETUP + body


def history(target: DeployTarget) -> str:
    """Past deploys, newest first, numbered from 0 as `revert N` counts them."""
    body = f"""\
[ -s "$P/.deploys" ] || {{ step "no deploys recorded yet"; exit 0; }}
I=0
for C in $(awk 'NF {{ seen[n++] = $1 }} END {{ while (n) print seen[--n] }}' "$P/.deploys"); do
  say entry "$C"
  printf '%-3s %s\\n' "$I" "$({_SHOW_COMMIT} "$C" 2>/dev/null || echo "$C")"
  I=$((I + 1))
done
"""
    return _head(target) + _NEEDS_SETUP + body


def execute(target: DeployTarget, command: str) -> str:
    """COMMAND run in current, as a hook is (PM2's `exec`)."""
    body = f"""\
[ -d "$P/current" ] || fail "$P is not set up"
( cd "$P/current" && export SHARED="$P/shared" && exec bash -c {shlex.quote(command)} ) \\
  || fail "command exited $?"
"""
    return _head(target) + body
