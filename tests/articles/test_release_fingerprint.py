"""Article snapshots are keyed by the release (articles/pages.py): after a deploy that
changes a template or a static file, no process serves a page the release before it
rendered (and cached for a day), such as one naming a stylesheet that is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from articles import pages
from tests.factories import ArticleFactory


def _tree(root: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    return paths


def test_the_fingerprint_follows_every_template_byte_and_the_static_manifest(tmp_path):
    files = {"templates/article.html": "<h1>{{ title }}</h1>", "app/templates/x.html": "x"}
    first = pages.fingerprint(_tree(tmp_path, files), root=tmp_path, manifest="{}")
    assert first == pages.fingerprint(_tree(tmp_path, files), root=tmp_path, manifest="{}")
    edited = {**files, "templates/article.html": "<h1>{{ title }}</h1> "}
    assert pages.fingerprint(_tree(tmp_path, edited), root=tmp_path, manifest="{}") != first
    _tree(tmp_path, files)
    added = _tree(tmp_path, {**files, "templates/new.html": ""})
    assert pages.fingerprint(added, root=tmp_path, manifest="{}") != first
    moved = {"templates/x.html": "x", "app/templates/article.html": "<h1>{{ title }}</h1>"}
    assert pages.fingerprint(_tree(tmp_path, moved), root=tmp_path, manifest="{}") != first
    paths = _tree(tmp_path, files)
    assert pages.fingerprint(paths, root=tmp_path, manifest='{"a.css": "a.1.css"}') != first


def test_the_release_reads_the_projects_templates_not_the_installed_packages():
    pages.release_fingerprint.cache_clear()
    try:
        assert len(pages.release_fingerprint()) == 16
    finally:
        pages.release_fingerprint.cache_clear()


@pytest.mark.django_db
def test_a_snapshot_of_another_release_is_never_served(monkeypatch):
    article = ArticleFactory(access_level="free")
    before = pages.article_snapshot(slug=article.slug)
    assert pages.article_snapshot(slug=article.slug) is before
    pages.forget_local_snapshots()
    assert pages.article_snapshot(slug=article.slug) is not before  # from the shared cache
    monkeypatch.setattr(pages, "release_fingerprint", lambda: "the-next-release")
    built: list[str] = []
    real_build = pages._build

    def build(slug: str) -> pages.ArticleSnapshot:
        built.append(slug)
        return real_build(slug)

    monkeypatch.setattr(pages, "_build", build)
    pages.forget_local_snapshots()
    pages.article_snapshot(slug=article.slug)
    assert built == [article.slug]  # built anew, not read from the cache


@pytest.mark.django_db
@pytest.mark.parametrize("channel", ["/a/{}/", "/api/v1/articles/{}/"])
def test_an_article_with_the_longest_slug_is_served(client, channel):
    """The snapshot's key stays under the 250 characters Django warns about (an error
    under the tests' warning filter) for a slug as wide as its column."""
    article = ArticleFactory(access_level="free", slug="a" * 200)
    assert len(pages.snapshot_key(slug=article.slug)) < 200
    assert client.get(channel.format(article.slug)).status_code == 200
    assert pages.snapshot_key(slug="b" * 200) != pages.snapshot_key(slug="c" * 200)
