"""Deleting a session on the web: the member's button and confirmation page, ``DELETE
/api/sessions/{id}``, who may (the member, an admin; a coach 403, anyone else 404 as for reading),
CSRF, an unfinished job (409), and the job page of a job whose session was deleted.

Most sessions are stored rows (no analysis run); the last tests delete a session a real upload
and analysis made (videos posed by replaying a known pose).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
pytest.importorskip("python_multipart")

from sqlalchemy import func, select

from kneeback.store.models import Artifact
from kneeback.store.models import Session as StoredSession
from kneeback.web.app import CSRF_HEADER
from kneeback.web.models import Comment, Job, Share, User
from test_web import world as analysed  # noqa: F401  (a real analysis of alice's clip)
from test_web_review import form_token
from test_web_review import world as w  # noqa: F401  (stored sessions, no analysis)


def delete(people, who: str, session_id: int, *, csrf: bool = True):
    headers = {CSRF_HEADER: people[who + "_csrf"]} if csrf else {}
    return people[who].delete(f"/api/sessions/{session_id}", headers=headers)


def stored(app, session_id: int) -> bool:
    return app.state.web.db.read(lambda s: s.get(StoredSession, session_id) is not None)


def video_of(app, session_id: int) -> Path:
    def work(s):
        return s.scalar(
            select(Artifact.path).where(
                Artifact.session_id == session_id, Artifact.kind == "annotated_mp4"
            )
        )

    return Path(app.state.web.db.read(work))


def uploaded(app, username: str, session_id: int, *, state: str) -> tuple[Path, str]:
    """Give the session an uploaded clip and a job in ``state`` that analysed it."""
    ctx = app.state.web
    clip = ctx.settings.upload_dir / f"clip{session_id:04d}"
    clip.parent.mkdir(parents=True, exist_ok=True)
    clip.write_bytes(b"clip")
    uid = f"job{session_id:04d}"

    def work(s):
        s.get(StoredSession, session_id).source_path = str(clip.resolve())
        user = s.scalar(select(User.id).where(User.username == username))
        done = state == "done"
        s.add(
            Job(
                uid=uid,
                user_id=user,
                upload_path=str(clip),
                state=state,
                session_id=session_id if done else None,
            )
        )

    ctx.db.write(work)
    return clip, uid


# ---- the member's pages --------------------------------------------------------------------------


def test_the_member_deletes_a_session_after_confirming(w):  # noqa: F811
    app, alice, a1 = w["app"], w["alice"], w["a1"]
    clip, uid = uploaded(app, "alice", a1, state="done")
    video = video_of(app, a1)
    page = alice.get(f"/sessions/{a1}").text
    assert f'href="/sessions/{a1}/delete"' in page and "Delete this session" in page
    assert f'action="/sessions/{a1}/delete"' not in page  # a link, not a GET form (no stray ?)
    confirm = alice.get(f"/sessions/{a1}/delete")
    assert confirm.status_code == 200
    text = re.sub(r"\s+", " ", confirm.text)
    assert "Delete this session?" in text and "2026-01-05" in text
    assert "the session with its 3 reps and 2 findings, and the 2 files of its analysis" in text
    assert "the clip you uploaded" in text
    assert "Progress charts and the program stop counting it." in text
    assert stored(app, a1) and video.exists()  # asking deletes nothing
    token = form_token(alice, f"/sessions/{a1}/delete")
    r = alice.post(f"/sessions/{a1}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/members/alice?deleted=1"
    page = alice.get(r.headers["location"])
    assert page.status_code == 200 and "The session was deleted." in page.text
    assert f"/sessions/{a1}" not in page.text and f"/sessions/{w['a2']}" in page.text
    # gone: rows, video, its folder and the uploaded clip; the other session stays
    assert not stored(app, a1) and not video.exists() and not video.parent.exists()
    assert not clip.exists()
    assert alice.get(f"/api/sessions/{a1}").status_code == 404
    assert alice.get(f"/sessions/{a1}/delete").status_code == 404
    assert alice.get(f"/api/sessions/{w['a2']}").status_code == 200
    assert [s["id"] for s in alice.get("/api/sessions").json()] == [w["a2"]]
    # the job that stored it says so instead of linking nowhere
    job = alice.get(f"/api/jobs/{uid}").json()
    assert job["state"] == "done" and job["session_id"] is None
    page = alice.get(f"/jobs/{uid}")
    assert page.status_code == 200 and "has since been deleted" in page.text
    assert "/sessions/None" not in page.text


def test_the_form_needs_its_csrf_token(w):  # noqa: F811
    app, alice, a1 = w["app"], w["alice"], w["a1"]
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": w["bob_csrf"]}):
        r = alice.post(f"/sessions/{a1}/delete", data=data, follow_redirects=False)
        assert r.status_code == 403, data
    assert delete(w, "alice", a1, csrf=False).status_code == 403
    r = alice.delete(f"/api/sessions/{a1}", headers={CSRF_HEADER: w["bob_csrf"]})
    assert r.status_code == 403
    assert stored(app, a1)


def test_only_the_member_or_an_admin_sees_the_button(w):  # noqa: F811
    a1 = w["a1"]
    assert "Delete this session" in w["root"].get(f"/sessions/{a1}").text
    page = w["carol"].get(f"/sessions/{a1}")
    assert page.status_code == 200 and "Delete this session" not in page.text
    assert w["carol"].get(f"/sessions/{a1}/delete").status_code == 403
    assert w["dave"].get(f"/sessions/{a1}/delete").status_code == 404
    assert w["bob"].get(f"/sessions/{a1}/delete").status_code == 404


# ---- the API and who may ------------------------------------------------------------------------


def test_delete_answers_like_reading(w):  # noqa: F811
    app, a1 = w["app"], w["a1"]
    # another member and a coach of others: 404, exactly as when they read it
    for who in ("bob", "dave"):
        read = w[who].get(f"/api/sessions/{a1}")
        r = delete(w, who, a1)
        assert read.status_code == r.status_code == 404 and r.json() == read.json()
    # alice's coach reads it but may not delete it
    assert w["carol"].get(f"/api/sessions/{a1}").status_code == 200
    r = delete(w, "carol", a1)
    assert r.status_code == 403 and "Only the member" in r.json()["detail"]
    assert stored(app, a1)
    r = delete(w, "alice", a1)
    assert r.status_code == 204 and r.content == b""
    assert not stored(app, a1)
    assert delete(w, "alice", a1).status_code == 404  # once
    assert w["anon"].delete(f"/api/sessions/{w['a2']}").status_code == 401


def test_an_admin_deletes_any_members_session(w, caplog):  # noqa: F811
    app, root, e1 = w["app"], w["root"], w["e1"]
    token = form_token(root, f"/sessions/{e1}/delete")
    with caplog.at_level(logging.INFO, logger="kneeback.web.deletion"):
        r = root.post(f"/sessions/{e1}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert [rec.getMessage().split(":")[0] for rec in caplog.records] == [
        f"session {e1} of erin deleted by root"
    ]
    assert r.status_code == 303 and r.headers["location"] == "/members/erin?deleted=1"
    assert not stored(app, e1)
    assert delete(w, "root", w["a1"]).status_code == 204
    assert [s["id"] for s in w["alice"].get("/api/sessions").json()] == [w["a2"]]


@pytest.mark.parametrize("state", ["queued", "running"])
def test_a_session_whose_job_has_not_finished_is_kept(w, state):  # noqa: F811
    """A job links its session only as it finishes: until then it is found by its clip."""
    app, alice, a1 = w["app"], w["alice"], w["a1"]
    clip, uid = uploaded(app, "alice", a1, state=state)
    r = delete(w, "alice", a1)
    assert r.status_code == 409 and "has not finished" in r.json()["detail"]
    page = alice.get(f"/sessions/{a1}/delete")
    assert page.status_code == 200 and "has not finished yet" in page.text
    assert f'action="/sessions/{a1}/delete"' not in page.text
    token = form_token(alice, f"/sessions/{a1}")
    r = alice.post(f"/sessions/{a1}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 409
    assert stored(app, a1) and clip.exists()

    def finish(s):
        job = s.scalar(select(Job).where(Job.uid == uid))
        job.state, job.session_id = "done", a1

    app.state.web.db.write(finish)
    assert delete(w, "alice", a1).status_code == 204


def test_its_share_and_comments_go_with_it(w):  # noqa: F811
    app, a1, a2 = w["app"], w["a1"], w["a2"]
    for sid in (a1, a2):
        r = w["alice"].post(f"/api/sessions/{sid}/share", headers={CSRF_HEADER: w["alice_csrf"]})
        assert r.status_code == 200
        r = w["carol"].post(
            f"/api/sessions/{sid}/comments",
            json={"time_s": 1.0, "text": "Knees out"},
            headers={CSRF_HEADER: w["carol_csrf"]},
        )
        assert r.status_code == 201
    text = re.sub(r"\s+", " ", w["alice"].get(f"/sessions/{a1}/delete").text)
    assert "the coach's 1 comment on it" in text and "its place in the coach's review queue" in text
    assert delete(w, "alice", a1).status_code == 204
    assert [q["id"] for q in w["carol"].get("/api/review").json()] == [a2]

    def left(s):
        return (
            list(s.scalars(select(Share.session_id))),
            list(s.scalars(select(Comment.session_id))),
            s.scalar(select(func.count()).select_from(StoredSession)),
        )

    assert app.state.web.db.read(left) == ([a2], [a2], 3)  # a2, erin's and bob's


# ---- a session a real analysis made --------------------------------------------------------------


def test_deleting_an_analysed_session_leaves_its_job_saying_so(analysed):  # noqa: F811
    world = analysed
    app, alice, sid, uid = world["app"], world["alice"], world["session"], world["job"]
    settings = app.state.web.settings
    page = alice.get(f"/jobs/{uid}").text
    assert f'href="/sessions/{sid}"' in page
    folder = settings.analysis_dir / uid
    uploads = list(settings.upload_dir.iterdir())
    assert folder.is_dir() and len(uploads) == 1
    r = alice.delete(f"/api/sessions/{sid}", headers={CSRF_HEADER: world["alice_csrf"]})
    assert r.status_code == 204
    assert not folder.exists(), sorted(p.name for p in folder.iterdir())
    assert not uploads[0].exists() and settings.upload_dir.is_dir()
    page = alice.get(f"/jobs/{uid}")
    assert page.status_code == 200 and "has since been deleted" in page.text
    assert alice.get(f"/api/jobs/{uid}").json()["session_id"] is None
    assert alice.get("/api/sessions").json() == []
    history = alice.get("/api/members/alice/history").json()
    assert history["sessions"] == []
    assert alice.get("/members/alice").status_code == 200


def test_files_outside_the_data_folder_stay(w, tmp_path):  # noqa: F811
    """A session stored on the command line for the member may name files anywhere, and a
    folder of the data folder may be a link out of it: deleting the session on the web deletes
    its rows but never a file outside the data folder."""
    app, a1 = w["app"], w["a1"]
    outside = tmp_path / "operator"
    (outside / "run").mkdir(parents=True)
    report, video = outside / "report.html", outside / "run" / "annotated.mp4"
    report.write_text("the operator's")
    video.write_bytes(b"the operator's")
    link = app.state.web.settings.analysis_dir / "link-out"
    link.symlink_to(outside / "run")
    app.state.web.db.write(
        lambda s: s.add_all(
            [
                Artifact(session_id=a1, kind="report_html", path=str(report)),
                Artifact(session_id=a1, kind="landmarks_csv", path=str(link / "annotated.mp4")),
            ]
        )
    )
    inside = video_of(app, a1)
    # The confirmation counts only the file inside the data folder among those that go.
    page = " ".join(w["alice"].get(f"/sessions/{a1}/delete").text.split())
    assert "and the 2 files of its analysis kept on this site" in page
    assert delete(w, "alice", a1).status_code == 204
    assert not stored(app, a1) and not inside.exists()  # its file in the data folder went
    assert report.read_text() == "the operator's" and video.exists() and link.is_symlink()
