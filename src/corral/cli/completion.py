"""Provides `corral completion bash|zsh|fish`: shell completion scripts made from the parser.

The verbs and each verb's flags are read from the argparse parser when the script is
printed, so the script never lags behind the CLI. App names come at completion time from
`corral completion names`, which asks a running daemon and never starts one (a tab press
must not spawn a daemon). PM2's `pm2 completion install` edits the shell's rc file; here
the user puts the script where their shell looks, as the help says.
"""

from __future__ import annotations

import argparse
import sys

INSTALL = """\
Print a completion script for your shell; install it with one of:
  bash: corral completion bash > ~/.local/share/bash-completion/completions/corral
  zsh:  corral completion zsh > "${fpath[1]}/_corral"   (then restart zsh)
  fish: corral completion fish > ~/.config/fish/completions/corral.fish
"corral completion names" prints the running apps' names (the scripts call it).
"""
TARGET_DESTS = ("targets", "target", "name")
"""A verb with a positional of one of these names takes app names."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description=INSTALL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("shell", choices=["bash", "zsh", "fish", "names"], help="which shell")
    parser.set_defaults(module=__name__)


def run(args: argparse.Namespace) -> int:
    if args.shell == "names":
        sys.stdout.write("".join(f"{name}\n" for name in app_names()))
        return 0
    from corral.cli.main import build_parser, verbs_of

    verbs = verbs_of(build_parser())
    flags = {verb: _flags(parser) for verb, parser in verbs.items()}
    takes_names = sorted(v for v, p in verbs.items() if _takes_names(p))
    script = {"bash": bash, "zsh": zsh, "fish": fish}[args.shell](flags, takes_names)
    sys.stdout.write(script)
    return 0


def app_names() -> list[str]:
    """The names of the daemon's apps; none when no daemon runs (never starts one)."""
    from corral.daemon.client import Client, DaemonError, NotRunning
    from corral.home import home

    try:
        with Client.connect(home()) as client:
            rows = client.call("list", metrics=False)
    except (NotRunning, DaemonError, OSError):
        return []
    return sorted({str(row["name"]) for row in rows})


def _flags(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """(spelling, help) of every option of PARSER but -h/--help."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        for spelling in action.option_strings:
            out.append((spelling, (action.help or "").replace("'", "")))
    return out


def _takes_names(parser: argparse.ArgumentParser) -> bool:
    return any(not a.option_strings and a.dest in TARGET_DESTS for a in parser._actions)


def bash(flags: dict[str, list[tuple[str, str]]], takes_names: list[str]) -> str:
    cases = "".join(
        f"        {verb}) flags='{' '.join(s for s, _ in spellings)}' ;;\n"
        for verb, spellings in sorted(flags.items())
        if spellings
    )
    return f"""\
# corral completion for bash:
#   corral completion bash > ~/.local/share/bash-completion/completions/corral
_corral() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}}
    COMPREPLY=()
    if (( COMP_CWORD == 1 )); then
        COMPREPLY=($(compgen -W '{" ".join(sorted(flags))}' -- "$cur"))
        return
    fi
    local verb=${{COMP_WORDS[1]}} flags=''
    case $verb in
{cases}    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    case " {" ".join(takes_names)} " in
        *" $verb "*) COMPREPLY=($(compgen -W "$(corral completion names 2>/dev/null)" -- "$cur")) ;;
    esac
}}
complete -o default -o bashdefault -F _corral corral
"""


def zsh(flags: dict[str, list[tuple[str, str]]], takes_names: list[str]) -> str:
    cases = "".join(
        f"      {verb}) compadd -- {' '.join(s for s, _ in spellings)} ;;\n"
        for verb, spellings in sorted(flags.items())
        if spellings
    )
    return f"""\
#compdef corral
# corral completion for zsh (corral completion zsh > "${{fpath[1]}}/_corral")
_corral() {{
  if (( CURRENT == 2 )); then
    compadd -- {" ".join(sorted(flags))}
    return
  fi
  local verb=$words[2]
  if [[ $PREFIX == -* ]]; then
    case $verb in
{cases}    esac
    return
  fi
  case $verb in
    ({"|".join(takes_names)}) compadd -- ${{(f)"$(corral completion names 2>/dev/null)"}} ;;
  esac
  _files
}}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _corral "$@"
else
  compdef _corral corral
fi
"""


def fish(flags: dict[str, list[tuple[str, str]]], takes_names: list[str]) -> str:
    lines = [
        "# corral completion for fish (corral completion fish > "
        "~/.config/fish/completions/corral.fish)",
        "complete -c corral -f",
        f"complete -c corral -n __fish_use_subcommand -a '{' '.join(sorted(flags))}'",
        f"complete -c corral -n '__fish_seen_subcommand_from {' '.join(takes_names)}' "
        "-a '(corral completion names 2>/dev/null)'",
        "complete -c corral -n '__fish_seen_subcommand_from start up deploy' -F",
    ]
    for verb, spellings in sorted(flags.items()):
        for spelling, text in spellings:
            kind = "-l" if spelling.startswith("--") else "-s"
            lines.append(
                f"complete -c corral -n '__fish_seen_subcommand_from {verb}' "
                f"{kind} {spelling.lstrip('-')} -d '{text}'"
            )
    return "\n".join(lines) + "\n"
