"""The SDK's typed shapes for the built-in tools' settings: shell environments and skills, the
shell approval callback's result, and the image generation config; plus the checks that
ShellTool / ImageGenerationTool run on them, so a malformed setting fails where it is made.
"""

from collections.abc import Callable, Mapping
from typing import Any, Literal, NotRequired, Required

from typing_extensions import TypedDict

from .exceptions import UserError


class ShellToolLocalSkill(TypedDict):
    """A skill on this machine, offered to the model with a local shell environment."""

    description: str
    name: str
    path: str


class ShellToolSkillReference(TypedDict):
    """A skill uploaded to the provider, by id (and version, else its default)."""

    type: Literal["skill_reference"]
    skill_id: str
    version: NotRequired[str]


class ShellToolInlineSkillSource(TypedDict):
    data: str
    """The skill folder as a base64-encoded zip archive."""
    media_type: Literal["application/zip"]
    type: Literal["base64"]


class ShellToolInlineSkill(TypedDict):
    """A skill sent with the request, as a zip bundle, for a provider container."""

    description: str
    name: str
    source: ShellToolInlineSkillSource
    type: Literal["inline"]


ShellToolContainerSkill = ShellToolSkillReference | ShellToolInlineSkill


class ShellToolContainerNetworkPolicyDomainSecret(TypedDict):
    domain: str
    name: str
    value: str


class ShellToolContainerNetworkPolicyAllowlist(TypedDict):
    allowed_domains: list[str]
    type: Literal["allowlist"]
    domain_secrets: NotRequired[list[ShellToolContainerNetworkPolicyDomainSecret]]


class ShellToolContainerNetworkPolicyDisabled(TypedDict):
    type: Literal["disabled"]


ShellToolContainerNetworkPolicy = (
    ShellToolContainerNetworkPolicyAllowlist | ShellToolContainerNetworkPolicyDisabled
)


class ShellToolLocalEnvironment(TypedDict):
    """Commands run here, by the ShellTool's executor."""

    type: Literal["local"]
    skills: NotRequired[list[ShellToolLocalSkill]]


class ShellToolContainerAutoEnvironment(TypedDict):
    """A container the provider starts for the run."""

    type: Literal["container_auto"]
    file_ids: NotRequired[list[str]]
    memory_limit: NotRequired[Literal["1g", "4g", "16g", "64g"] | None]
    network_policy: NotRequired[ShellToolContainerNetworkPolicy]
    skills: NotRequired[list[ShellToolContainerSkill]]


class ShellToolContainerReferenceEnvironment(TypedDict):
    """A container of the provider that an earlier run started."""

    type: Literal["container_reference"]
    container_id: str


ShellToolHostedEnvironment = (
    ShellToolContainerAutoEnvironment | ShellToolContainerReferenceEnvironment
)
ShellToolEnvironment = ShellToolLocalEnvironment | ShellToolHostedEnvironment


class ShellOnApprovalFunctionResult(TypedDict):
    """What a ShellTool's `on_approval` returns."""

    approve: bool
    reason: NotRequired[str]
    """Why, when rejected (the model sees it)."""


ShellApprovalFunction = Callable[..., Any]
"""(run_context, action: ShellActionRequest, call_id) -> bool (or an awaitable of it)."""
ShellOnApprovalFunction = Callable[..., Any]
"""(run_context, approval_item) -> ShellOnApprovalFunctionResult (or an awaitable of it)."""


class ImageGenerationToolConfig(TypedDict, total=False):
    """The Responses API's image generation tool param; passed to the provider unchanged."""

    type: Required[Literal["image_generation"]]
    action: Literal["generate", "edit", "auto"]
    background: Literal["transparent", "opaque", "auto"]
    input_fidelity: Literal["high", "low"] | None
    input_image_mask: dict[str, str]
    model: str
    moderation: Literal["auto", "low"]
    output_compression: int
    output_format: Literal["png", "webp", "jpeg"]
    partial_images: int
    quality: Literal["low", "medium", "high", "xhigh", "max", "auto"]
    size: str


# -- checks ------------------------------------------------------------------------------------

_SKILL_KEYS: dict[str, tuple[str, ...]] = {
    "local": ("name", "description", "path"),
    "skill_reference": ("skill_id",),
    "inline": ("name", "description", "source"),
}
_ENVIRONMENT_KEYS: dict[str, tuple[str, ...]] = {
    "local": (),
    "container_auto": (),
    "container_reference": ("container_id",),
}


def _check_skill(skill: Any, environment_type: str, where: str) -> None:
    if not isinstance(skill, Mapping):
        raise UserError(f"{where} must be a dict, got {type(skill).__name__}")
    kind = "local" if environment_type == "local" else skill.get("type")
    if environment_type != "local" and kind not in ("skill_reference", "inline"):
        raise UserError(f"{where} needs type 'skill_reference' or 'inline', got {kind!r}")
    missing = [key for key in _SKILL_KEYS[str(kind)] if not skill.get(key)]
    if missing:
        raise UserError(f"{where} ({kind} skill) is missing {', '.join(missing)}")
    if kind == "inline":
        source = skill["source"]
        if (
            not isinstance(source, Mapping)
            or source.get("type") != "base64"
            or not source.get("data")
        ):
            raise UserError(f"{where}.source must be {{'type': 'base64', 'data': ..., ...}}")


def normalize_shell_environment(environment: Any) -> dict[str, Any]:
    """The environment as a dict with its `type` ('local' when omitted); UserError naming the
    setting when it is not one of the SDK's shapes."""
    if environment is None:
        return {"type": "local"}
    if not isinstance(environment, Mapping):
        raise UserError(f"ShellTool.environment must be a dict, got {type(environment).__name__}")
    normalized = dict(environment)
    normalized.setdefault("type", "local")
    kind = normalized["type"]
    if kind not in _ENVIRONMENT_KEYS:
        raise UserError(
            f"ShellTool.environment type must be one of {sorted(_ENVIRONMENT_KEYS)}, got {kind!r}"
        )
    missing = [key for key in _ENVIRONMENT_KEYS[kind] if not normalized.get(key)]
    if missing:
        raise UserError(f"ShellTool.environment ({kind}) is missing {', '.join(missing)}")
    skills = normalized.get("skills")
    if skills is not None:
        if kind == "container_reference":
            raise UserError("ShellTool.environment: a container_reference takes no skills")
        if not isinstance(skills, list):
            raise UserError("ShellTool.environment.skills must be a list")
        for index, skill in enumerate(skills):
            _check_skill(skill, kind, f"ShellTool.environment.skills[{index}]")
    return normalized


def image_generation_config(tool_config: Any) -> dict[str, Any]:
    """A dict from the SDK's config: an ImageGenerationToolConfig dict, or the openai client's
    typed `ImageGeneration` model."""
    dump = getattr(tool_config, "model_dump", None)
    if callable(dump) and not isinstance(tool_config, Mapping):
        dumped = dump(exclude_none=True, mode="json")
        if isinstance(dumped, dict):
            return dumped
    if not isinstance(tool_config, Mapping):
        raise UserError(
            "ImageGenerationTool.tool_config must be a dict (ImageGenerationToolConfig) or "
            f"openai's ImageGeneration, got {type(tool_config).__name__}"
        )
    return dict(tool_config)


__all__ = [
    "ImageGenerationToolConfig",
    "ShellApprovalFunction",
    "ShellOnApprovalFunction",
    "ShellOnApprovalFunctionResult",
    "ShellToolContainerAutoEnvironment",
    "ShellToolContainerNetworkPolicy",
    "ShellToolContainerNetworkPolicyAllowlist",
    "ShellToolContainerNetworkPolicyDisabled",
    "ShellToolContainerNetworkPolicyDomainSecret",
    "ShellToolContainerReferenceEnvironment",
    "ShellToolContainerSkill",
    "ShellToolEnvironment",
    "ShellToolHostedEnvironment",
    "ShellToolInlineSkill",
    "ShellToolInlineSkillSource",
    "ShellToolLocalEnvironment",
    "ShellToolLocalSkill",
    "ShellToolSkillReference",
    "image_generation_config",
    "normalize_shell_environment",
]
