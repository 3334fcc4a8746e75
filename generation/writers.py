"""The script writers this site knows, and those it offers (``SCRIPT_WRITERS``, configured)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .bedrock_writer import ClaudeWriter, ConverseWriter, NovaWriter
from .script import ScriptError, write_script
from .writing import ScriptBrief, ScriptWriter, WriterError, WrittenScript


class TemplateWriter(ScriptWriter):
    """The offline writer (``generation.script``): free, instant, the same script for the same
    brief and seed."""

    name, label = "template", "Template (offline)"

    def write(self, brief: ScriptBrief) -> WrittenScript:
        """The template's script for ``brief``. Raises ``WriterError`` for an unknown genre, an
        empty cast or a scene count out of range."""
        try:
            script = write_script(
                idea=brief.idea, theme=brief.theme, genre=brief.genre, cast=brief.cast_names,
                scene_count=brief.scene_count, target_seconds=brief.target_seconds,
                seed=brief.seed, title=brief.title,
            )  # fmt: skip
        except ScriptError as error:
            raise WriterError(error.message) from error
        return WrittenScript(script=script, writer=self.name)


#: Every writer, by name.
WRITERS: dict[str, ScriptWriter] = {
    writer.name: writer for writer in (TemplateWriter(), ClaudeWriter(), NovaWriter())
}


def offered_writers() -> list[ScriptWriter]:
    """The writers people may choose here, in ``SCRIPT_WRITERS`` order: listed, known and
    configured."""
    return [
        WRITERS[name]
        for name in settings.SCRIPT_WRITERS
        if name in WRITERS and WRITERS[name].is_configured()
    ]


@dataclass(frozen=True)
class WriterModel:
    """An offered writer's model as the model status page checks it: the writer's ``name`` and
    ``label``, the foundation ``model_id`` and its ``region``."""

    name: str
    label: str
    model_id: str
    region: str


def writer_models() -> list[WriterModel]:
    """The models of the offered writers on Bedrock (script writing and character sheets)."""
    return [
        WriterModel(writer.name, writer.label, writer.foundation_model_id, writer.region)
        for writer in offered_writers()
        if isinstance(writer, ConverseWriter)
    ]


def get_writer(name: str) -> ScriptWriter:
    """The offered writer called ``name``. Raises ``WriterError`` naming the ones offered."""
    for writer in offered_writers():
        if writer.name == name:
            return writer
    offered = ", ".join(writer.name for writer in offered_writers())
    raise WriterError(f"The script writer “{name}” is not offered here (offered: {offered}).")
