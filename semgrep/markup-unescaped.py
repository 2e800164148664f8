# Examples for `semgrep --test`: each `ruleid` line must be found, each `ok` line must not.
from markupsafe import Markup, escape


def constant():
    # ok: markup-of-unescaped-text
    return Markup("<br>")


def escaped(name):
    # ok: markup-of-unescaped-text
    return Markup(escape(name))


def formatted(name):
    # ok: markup-of-unescaped-text
    return Markup("<b>{}</b>").format(name)


def raw(name):
    # ruleid: markup-of-unescaped-text
    return Markup(f"<b>{name}</b>")


def joined(lines):
    # ruleid: markup-of-unescaped-text
    return Markup("<br>".join(lines))
