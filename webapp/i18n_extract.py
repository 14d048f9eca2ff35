"""A Babel extractor for the portal's YAML data files.

Hand-written: Babel ships extractors for Python and (through Jinja) for
templates, but none for YAML. Service passports and sandbox notes are
written in English in YAML; their strings are msgids like any other.
"""

from __future__ import annotations

from typing import Iterator

import yaml

# Keys whose string values (or lists of strings) a citizen reads.
DEFAULT_KEYS = (
    "short_name full_name summary provider notes places who_can_apply_online "
    "how_to_apply_online name when online_documents proactive result result_online "
    "complaint offline_route legal_basis good_for "
    "title label hint errors reason other_option description item_label"
)


def empty_texts(data, keys: frozenset[str] = frozenset(DEFAULT_KEYS.split()), where: str = "",
                wanted: bool = False) -> Iterator[str]:
    """Where parsed YAML holds an empty text under a translatable key (as the extractor walks it).

    gettext("") answers the catalogue's header ("Project-Id-Version: …"), so an
    empty text would show that to citizens; a loader refuses what this finds.
    """
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("when", "proactive") and (value is None or isinstance(value, dict)):
                continue  # a condition or a proactive block, not words for people
            path = f"{where}.{key}" if where else str(key)
            yield from empty_texts(value, keys, path, wanted or key in keys)
    elif isinstance(data, list):
        for n, item in enumerate(data):
            yield from empty_texts(item, keys, f"{where}[{n}]", wanted)
    elif wanted and (data is None or (isinstance(data, str) and not data.strip())):
        yield where


def _strings(node: yaml.Node, keys: set[str], wanted: bool) -> Iterator[tuple[int, str]]:
    """Strings under a translatable key, however deep (lists, option pairs, error maps)."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value in ("when", "proactive") and isinstance(value_node, yaml.MappingNode):
                continue  # a wizard's condition or proactive block: ids and values, not words for people
            yield from _strings(value_node, keys, wanted or key_node.value in keys)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _strings(item, keys, wanted)
    elif isinstance(node, yaml.ScalarNode) and wanted and node.tag.endswith(":str"):
        if node.value.strip():
            yield node.start_mark.line + 1, node.value


def extract_yaml(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """Yield (line, function, message, comments) for each translatable string."""
    keys = set(options.get("keys", DEFAULT_KEYS).replace(",", " ").split())
    root = yaml.compose(fileobj.read().decode(options.get("encoding", "utf-8")))
    if root is not None:
        for line, message in _strings(root, keys, False):
            yield line, None, message, []
