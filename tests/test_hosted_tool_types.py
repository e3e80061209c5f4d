"""The SDK's typed settings of the built-in tools (shell skills and environments, the image
generation config) reach the Responses request as given, malformed ones fail where they are
made, and the SDK's tools we leave out import but refuse to be used."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses.tool import ImageGeneration

from agentoscope.runtime import (
    Agent,
    ImageGenerationTool,
    ImageGenerationToolConfig,
    OpenAIResponsesModel,
    Runner,
    ShellTool,
    ShellToolInlineSkill,
    ShellToolLocalSkill,
    ShellToolSkillReference,
    UserError,
)
from support.fake_openai import FakeOpenAIServer, text_reply

INLINE: ShellToolInlineSkill = {
    "type": "inline",
    "name": "csv-workbench",
    "description": "Summarise CSV files.",
    "source": {"type": "base64", "media_type": "application/zip", "data": "UEsFBgAAAAA="},
}
REFERENCE: ShellToolSkillReference = {"type": "skill_reference", "skill_id": "skill_1"}
LOCAL: ShellToolLocalSkill = {"name": "csv", "description": "CSV tools", "path": "/srv/skills"}


async def test_skills_and_image_configs_reach_the_request(server: FakeOpenAIServer) -> None:
    server.enqueue(text_reply("ok"))
    config: ImageGenerationToolConfig = {"type": "image_generation", "size": "1536x864"}
    hosted = {
        "type": "container_auto",
        "network_policy": {"type": "allowlist", "allowed_domains": ["pypi.org"]},
        "skills": [INLINE, REFERENCE],
    }
    tools = [
        ShellTool(environment=hosted),  # type: ignore[arg-type]
        ShellTool(
            name="local_shell_with_skills",
            executor=lambda request: "ok",
            environment={"type": "local", "skills": [LOCAL]},
        ),
        ImageGenerationTool(config),  # type: ignore[arg-type]
        ImageGenerationTool(ImageGeneration(type="image_generation", quality="low")),  # type: ignore[arg-type]
    ]
    agent = Agent(
        name="Operator", tools=tools, model=OpenAIResponsesModel("gpt-5", server.client())
    )
    await Runner.run(agent, "hi")
    assert server.last_request.body["tools"] == [
        {"type": "shell", "environment": hosted},
        {"type": "shell", "environment": {"type": "local", "skills": [LOCAL]}},
        config,
        {"type": "image_generation", "quality": "low"},
    ]


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ("local", "environment must be a dict"),
        ({"type": "docker"}, "type must be one of"),
        ({"type": "container_reference"}, "missing container_id"),
        ({"type": "container_auto", "skills": [{"type": "zip"}]}, r"skills\[0\] needs type"),
        ({"type": "container_auto", "skills": [{"type": "inline", "name": "x"}]}, "description"),
        (
            {"type": "container_auto", "skills": [{**INLINE, "source": {"type": "url"}}]},
            r"skills\[0\]\.source",
        ),
        ({"type": "container_auto", "skills": REFERENCE}, "skills must be a list"),
        ({"type": "container_reference", "container_id": "c", "skills": []}, "takes no skills"),
    ],
)
def test_malformed_hosted_environments_are_refused(environment: Any, message: str) -> None:
    with pytest.raises(UserError, match=message):
        ShellTool(environment=environment)


def test_a_local_skill_needs_its_path() -> None:
    with pytest.raises(UserError, match="missing path"):
        ShellTool(
            executor=lambda request: "",
            environment={"type": "local", "skills": [{"name": "csv", "description": "d"}]},  # type: ignore[typeddict-item]
        )


def test_image_config_must_be_a_config() -> None:
    with pytest.raises(UserError, match="ImageGenerationToolConfig"):
        ImageGenerationTool("image_generation")  # type: ignore[arg-type]


def test_the_sdks_tool_module_names() -> None:
    from agentoscope.runtime.tool import ShellOnApprovalFunctionResult

    result: ShellOnApprovalFunctionResult = {"approve": False, "reason": "no"}
    assert ShellOnApprovalFunctionResult.__required_keys__ == frozenset({"approve"})
    assert result["reason"] == "no"


def test_left_out_tools_import_and_name_the_alternative() -> None:
    from agentoscope.runtime import (
        ApplyPatchTool,
        ProgrammaticToolCallingTool,
        ToolSearchTool,
        apply_diff,
        tool_namespace,
    )
    from agentoscope.runtime.editor import ApplyPatchOperation, ApplyPatchResult

    def annotated(operation: ApplyPatchOperation) -> ApplyPatchResult:  # annotations are no use
        raise AssertionError

    with pytest.raises(UserError, match=r"ApplyPatchTool .*function_tool that edits files"):
        ApplyPatchTool(editor=object())
    with pytest.raises(UserError, match="apply_diff"):
        apply_diff("", "+x", mode="create")
    with pytest.raises(UserError, match="ApplyPatchResult"):
        ApplyPatchResult(output="done")
    with pytest.raises(UserError, match=r"ToolSearchTool .*handoffs"):
        ToolSearchTool()
    with pytest.raises(UserError, match="tool_namespace"):
        tool_namespace(name="crm", description="CRM", tools=[])
    with pytest.raises(UserError, match=r"ProgrammaticToolCallingTool .*parallel_tool_calls"):
        ProgrammaticToolCallingTool()
    with pytest.raises(ImportError, match="NoSuchEditor"):
        from agentoscope.runtime.editor import NoSuchEditor  # noqa: F401
