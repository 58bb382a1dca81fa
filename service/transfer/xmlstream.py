"""Hostile-safe streaming of XML exports (WordPress WXR, Disqus) through defusedxml.

No DTD, no entity declaration and no external reference is accepted (billion laughs, XXE),
and the file is read in chunks: each element the reader asked for is handed over once whole,
then cleared and dropped from its parent, so memory follows one element, never the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from service.transfer.sources import FileRefused


def local(tag: str) -> str:
    """An element's name without its namespace: ``{http://disqus.com}post`` is ``post``."""
    return tag.rsplit("}", 1)[-1]


def child_text(element: Element, name: str) -> str:
    """The text of the first child with this local name ("" if none)."""
    for child in element:
        if local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def child(element: Element, name: str) -> Element | None:
    """The first child with this local name."""
    return next((c for c in element if local(c.tag) == name), None)


def elements(path: Path, *, root: str, depth: int, label: str) -> Iterator[Element]:
    """Every element ``depth`` levels below the root, whole, in the file's order.

    ``root`` is the root element's expected local name; another root is the wrong format.
    ``label`` is the format, as refusals name it (``notes.FORMATS``: "wordpress").
    """
    stack: list[Element] = []
    try:
        for event, element in iterparse(str(path), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if not stack and local(element.tag) != root:
                    found = local(element.tag)
                    raise FileRefused("wrong_root", label=label, found=found, root=root)
                stack.append(element)
                continue
            stack.pop()
            if len(stack) == depth:
                yield element
                element.clear()
                stack[-1].remove(element)
    except ParseError as error:
        raise FileRefused("not_xml", error=str(error), label=label) from None
    except DefusedXmlException as error:
        raise FileRefused("hostile", error=type(error).__name__) from None
    if stack:
        raise FileRefused("unclosed", label=label)
