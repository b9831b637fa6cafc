"""README front-matter license fix for Hugging Face destinations (MS→HF).

ModelScope accepts free-form license names ("Apache License 2.0"); the Hub validates `license:`
against its list of ids. We map known spellings to HF ids and anything else to `other` with a
`license_name`, touching only the `license` line(s) so the rest of the card stays byte-identical.
"""

from __future__ import annotations

import re

HF_LICENSES = frozenset(
    """apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
    bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear
    c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0
    cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0
    cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl
    ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl
    lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr mpl-2.0
    odc-by odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
    deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2
    llama3.3 llama4 gemma unknown other""".split()
)
_ALIASES = {
    "apache": "apache-2.0",
    "apache-2": "apache-2.0",
    "apache-v2": "apache-2.0",
    "apache-v2.0": "apache-2.0",
    "gplv2": "gpl-2.0",
    "gplv3": "gpl-3.0",
    "gpl-v3": "gpl-3.0",
    "lgplv3": "lgpl-3.0",
    "agplv3": "agpl-3.0",
    "bsd-3": "bsd-3-clause",
    "bsd-2": "bsd-2-clause",
    "cc0": "cc0-1.0",
    "mpl": "mpl-2.0",
}
_FRONT_MATTER = re.compile(r"\A(---\r?\n)(.*?)(\r?\n---[ \t]*(?:\r?\n|\Z))", re.S)
_LICENSE_LINE = re.compile(r"^license:[ \t]*(.*?)[ \t]*$", re.M)


def normalize(name: str) -> str:
    slug = name.strip().strip("'\"").lower()
    slug = re.sub(r"\b(licen[cs]e|version|the)\b", " ", slug)
    slug = re.sub(r"[\s_/,]+", "-", slug).strip("-")
    slug = re.sub(r"-+", "-", slug)
    slug = re.sub(r"(\d)$", r"\1", slug)
    if slug in HF_LICENSES:
        return slug
    if slug in _ALIASES:
        return _ALIASES[slug]
    if re.fullmatch(r"[a-z-]+-\d", slug) and f"{slug}.0" in HF_LICENSES:
        return f"{slug}.0"
    return slug


def fix_readme(text: str) -> tuple[str, str | None]:
    """Returns (new text, description of the change or None when nothing changed)."""
    fm = _FRONT_MATTER.match(text)
    if not fm:
        return text, None
    body = fm.group(2)
    line = _LICENSE_LINE.search(body)
    if not line or not line.group(1):
        return text, None
    original = line.group(1).strip().strip("'\"")
    mapped = normalize(original)
    if mapped == original:
        return text, None
    if mapped in HF_LICENSES:
        new_lines = f"license: {mapped}"
    else:
        name = re.sub(r"[^a-z0-9.-]+", "-", mapped).strip("-") or "custom"
        new_lines = "license: other"
        if not re.search(r"^license_name:", body, re.M):
            new_lines += f"\nlicense_name: {name}"
    new_body = body[: line.start()] + new_lines + body[line.end() :]
    new_text = text[: fm.start(2)] + new_body + text[fm.end(2) :]
    return new_text, f"license {original!r} -> {new_lines.splitlines()[0][9:]}"
