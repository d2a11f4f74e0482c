"""`prompts/get`: a prompt's messages for given arguments.

Arguments are checked first (every required one given, each a string, no undeclared ones unless
`--allow-extra-params`); a problem is a JSON-RPC invalid-params error that names the argument and
lists the prompt's arguments. The messages are, in order of preference:
1. a recording made with exactly these arguments (a mirrored server's answer, replayed verbatim);
2. a template recorded with the same set of argument names, else one made from the closest
   recording with those names (its values, where they stand as whole words, become placeholders),
   else the definition's `messages`, with every `{{argument}}` replaced (an optional argument not
   given becomes empty);
3. one user message made of the description and the arguments.
Embedded resources without text read the resource as the session does; images and audio without
data get a small valid file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gtm_mcp.contract.surface import PromptDefinition, PromptMessageTemplate
from gtm_mcp.sessions.store import Session
from gtm_mcp.surface.media import media_for
from gtm_mcp.surface.resources import INVALID_PARAMS, ResourceReader, SurfaceError, seed_for
from gtm_mcp.surface.state import SessionSurface

MAX_ARGUMENT_LENGTH = 100_000
_PLACEHOLDER = re.compile(r"\{\{([^{}]{1,128})\}\}")


def template_key(names: Any) -> str:
    """How `PromptDefinition.templates` are keyed: the sorted argument names, comma-separated."""
    return ",".join(sorted(names))


def _signature(prompt: PromptDefinition) -> str:
    if not prompt.arguments:
        return f"prompt '{prompt.name}' takes no arguments"
    return f"prompt '{prompt.name}' takes: " + ", ".join(
        f"{a.name} ({'required' if a.required else 'optional'}{': ' + a.description if a.description else ''})"
        for a in prompt.arguments)


def check_arguments(prompt: PromptDefinition, arguments: Any, *, allow_extra: bool = False) -> dict[str, str]:
    """The arguments as strings; raises `SurfaceError` (invalid params) naming every problem."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, Mapping):
        raise SurfaceError(INVALID_PARAMS, f"Prompt arguments must be an object of strings; {_signature(prompt)}.")
    problems = []
    missing = [a.name for a in prompt.arguments if a.required and arguments.get(a.name) in (None, "")]
    if missing:
        problems.append(f"missing required argument(s): {', '.join(missing)}")
    unknown = [k for k in arguments if prompt.argument(k) is None]
    if unknown and not allow_extra:
        problems.append(f"unknown argument(s): {', '.join(map(str, unknown))}")
    wrong = [k for k, v in arguments.items() if v is not None and not isinstance(v, str)]
    if wrong:
        problems.append(f"argument(s) {', '.join(wrong)} must be strings")
    long = [k for k, v in arguments.items() if isinstance(v, str) and len(v) > MAX_ARGUMENT_LENGTH]
    if long:
        problems.append(f"argument(s) {', '.join(long)} longer than {MAX_ARGUMENT_LENGTH} characters")
    if problems:
        raise SurfaceError(INVALID_PARAMS, f"Invalid arguments for prompt '{prompt.name}': {'; '.join(problems)}. "
                           f"The {_signature(prompt)}.", {"prompt": prompt.name})
    return {k: v for k, v in arguments.items() if isinstance(v, str) and prompt.argument(k) is not None}


def substitute(value: Any, arguments: Mapping[str, str]) -> Any:
    """`{{name}}` replaced by the argument's value in every string of a JSON value (`arguments`
    holds every declared argument, "" for those not given; other text in braces is left alone)."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        # One pass over the template: a value that itself holds `{{...}}` is never substituted again.
        return _PLACEHOLDER.sub(lambda m: arguments.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: substitute(v, arguments) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, arguments) for v in value]
    return value


def _default_messages(prompt: PromptDefinition, arguments: Mapping[str, str]) -> list[dict[str, Any]]:
    parts = [prompt.description or prompt.title or prompt.name]
    if arguments:
        parts += ["", *(f"{name}: {value}" for name, value in arguments.items())]
    return [{"role": "user", "content": {"type": "text", "text": "\n".join(parts)}}]


class PromptRenderer:
    def __init__(self, reader: ResourceReader, *, allow_extra: bool = False) -> None:
        self.reader = reader
        self.allow_extra = allow_extra

    async def get(self, prompt: PromptDefinition, arguments: Any, session_key: str) -> dict[str, Any]:
        """The `prompts/get` result (wire form) for `arguments` in a session."""
        given = check_arguments(prompt, arguments, allow_extra=self.allow_extra)
        async with self.reader.simulator.sessions.lease(session_key) as session:
            SessionSurface.of(session.state).remember(given)
            return await self._messages(prompt, given, session)

    async def _messages(self, prompt: PromptDefinition, given: dict[str, str], session: Session) -> dict[str, Any]:
        description = prompt.description or None
        recording = next((r for r in prompt.recordings if r.arguments == given), None)
        if recording is not None:
            messages = [_wire(m) for m in recording.messages]
            return {"description": recording.description or description, "messages": messages}
        template = prompt.templates.get(template_key(given)) or self._from_recordings(prompt, given) or prompt.messages
        if template is None:
            messages = _default_messages(prompt, given)
        else:
            filled = {a.name: given.get(a.name, "") for a in prompt.arguments}
            messages = [substitute(_wire(m), filled) for m in template]
        for i, message in enumerate(messages):
            messages[i]["content"] = await self._complete(message["content"], prompt.name, i, session)
        return {"description": description, "messages": messages}

    @staticmethod
    def _from_recordings(prompt: PromptDefinition, given: Mapping[str, str]) -> list[PromptMessageTemplate] | None:
        """A template made from the recording with the same argument names that shares the most
        values with `given`: each recorded value, where it stands as a whole word in the messages,
        becomes its `{{argument}}`."""
        same = [r for r in prompt.recordings if set(r.arguments) == set(given) and r.arguments]
        if not same:
            return None
        best = max(same, key=lambda r: sum(r.arguments[k] == given[k] for k in given))
        return [PromptMessageTemplate(role=m.role, content=_placeholders(m.content, best.arguments))
                for m in best.messages]

    async def _complete(self, content: dict[str, Any], name: str, index: int, session: Session) -> dict[str, Any]:
        """Fill what a template left out: data of images/audio, the text of embedded resources."""
        kind = content.get("type")
        if kind in ("image", "audio") and not content.get("data"):
            media = media_for(content.get("mimeType") or ("image/png" if kind == "image" else "audio/wav"),
                              seed_for(self.reader.simulator.seed, name, str(index)))
            return {**content, "data": media.base64, "mimeType": media.mime_type}
        if kind == "resource" and isinstance(content.get("resource"), dict):
            resource = content["resource"]
            if "text" not in resource and "blob" not in resource:
                try:
                    read = await self.reader.read(str(resource.get("uri", "")), session.key, session=session)
                    return {**content, "resource": {**read.content.wire(), **{k: v for k, v in resource.items()
                                                                                if k == "uri"}}}
                except SurfaceError:
                    return {**content, "resource": {"mimeType": "text/plain", **resource, "text": ""}}
        return content


def _placeholders(value: Any, recorded: Mapping[str, str]) -> Any:
    """`value` (recorded messages) with each recorded argument value, where it stands as a whole
    word, replaced by `{{argument}}` (longest values first, so that one value inside another stays)."""
    if isinstance(value, str):
        for name, given in sorted(recorded.items(), key=lambda item: -len(item[1])):
            if given:
                value = re.sub(rf"(?<![A-Za-z0-9]){re.escape(given)}(?![A-Za-z0-9])", "{{" + name + "}}", value)
        return value
    if isinstance(value, dict):
        return {k: v if k in ("data", "blob") else _placeholders(v, recorded) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v, recorded) for v in value]
    return value


def _wire(message: PromptMessageTemplate) -> dict[str, Any]:
    return {"role": message.role, "content": dict(message.content)}
