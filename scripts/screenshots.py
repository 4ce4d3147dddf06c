"""Screenshots of the real window for the README, taken on a virtual X screen.

Run: ``xvfb-run -a -s "-screen 0 1280x860x24" .venv/bin/python scripts/screenshots.py``
It starts an embedded server in a temporary directory, opens the window as the app does, drops
three large files (parallel uploads) and opens an image preview, grabbing the screen each time.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import httpx
import qasync
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QLinearGradient, QPainter
from PySide6.QtWidgets import QApplication

from desktop.app import build_application, install_worker_threads
from desktop.backend import Connection, embedded_key_source, local_user_session
from desktop.config import AppSettings
from desktop.domain.states import UploadStatus
from desktop.server.context import ServerConfig
from desktop.server.runner import EmbeddedServer

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
MIB = 1024 * 1024


def poster(path: Path) -> Path:
    image = QImage(960, 600, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    gradient = QLinearGradient(0, 0, 960, 600)
    gradient.setColorAt(0, QColor("#3ecf8e"))
    gradient.setColorAt(1, QColor("#1c1c1c"))
    painter.fillRect(image.rect(), gradient)
    painter.setPen(QColor("white"))
    painter.setFont(QFont("DejaVu Sans", 42, QFont.Weight.Bold))
    painter.drawText(
        QRectF(0, 0, 960, 600), Qt.AlignmentFlag.AlignCenter, "Site visit — floor plan"
    )
    painter.end()
    image.save(str(path))
    return path


async def until(condition, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        await asyncio.sleep(0.02)


async def grab(name: str) -> None:
    await asyncio.sleep(0.2)  # let Qt paint; never processEvents() inside a running task
    QGuiApplication.primaryScreen().grabWindow(0).save(str(OUT / name))
    print(f"saved {OUT / name}")


async def main(work: Path) -> None:
    with EmbeddedServer(ServerConfig(data_dir=work / "server")) as server:
        client = httpx.AsyncClient(timeout=60)
        keys = server.keys
        connection = Connection(
            server.url,
            keys.anon_key,
            keys.service_role_key,
            is_embedded=True,
            key_source=embedded_key_source(work / "server"),
        )
        session = await local_user_session(client, connection)
        app = await build_application(
            connection,
            session,
            AppSettings(),
            client=client,
            data_dir=work / "data",
            preview_dir=work / "previews",
        )
        window = app.window
        window.resize(1200, 780)
        window.move(40, 40)
        window.show()
        app.controller.create_document("Site visit 2026-12-04")
        await until(lambda: app.controller.current_document_id is not None)
        files = work / "files"
        files.mkdir()
        image = poster(files / "floor-plan.png")
        app.controller.add_files([image])
        await until(lambda: window.attachments.rowCount() == 1)
        await app.controller.wait_idle()
        big = []
        for name in ("survey-video.mp4", "scan-archive.zip", "drone-photos.tar"):
            path = files / name
            with path.open("wb") as out:
                for _ in range(300):
                    out.write(os.urandom(MIB))
            big.append(path)
        app.controller.add_files(big)
        store = app.controller.services.pipeline._store  # noqa: SLF001 - read-only, for timing the shot

        def mid_upload() -> bool:
            states = [s for s in store.snapshot().values() if s.size_bytes == 300 * MIB]
            return len(states) == 3 and all(
                s.status is UploadStatus.UPLOADING and 0.15 < s.bytes_sent / s.size_bytes < 0.8
                for s in states
            )

        await until(mid_upload)
        await grab("parallel-uploads.png")
        await app.controller.services.pipeline.wait_idle()
        app.controller.select_document(app.controller.current_document_id)
        await until(
            lambda: (
                window.attachments.rowCount() == 4
                and any(
                    (a := window.attachments.attachment(k)) is not None
                    and a.file_name == "floor-plan.png"
                    for k in list(window.attachments._rows)  # noqa: SLF001
                )
            )
        )
        [attachment] = [
            a
            for k in list(window.attachments._rows)
            if (a := window.attachments.attachment(k)) is not None
            and a.file_name == "floor-plan.png"
        ]  # noqa: SLF001
        dialog = window.open_preview(attachment)
        dialog.move(200, 120)
        await until(lambda: dialog.content is not None)
        await grab("preview.png")
        dialog.close()
        await app.controller.wait_idle()
        await app.aclose()


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    qt_app = QApplication(sys.argv)
    loop = qasync.QEventLoop(qt_app)
    install_worker_threads(loop)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp, loop:
        loop.run_until_complete(main(Path(tmp)))
