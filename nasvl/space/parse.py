"""YAML → `SearchSpace`. The one place a space file is read and validated.

Every rule violation is a ConfigError naming file:line, the YAML path and the
rule. See README "Search-space YAML" for the reference; search_spaces/ holds
worked examples.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from nasvl.config import Node, YamlDoc, load_yaml, load_yaml_text, parse_dataclass
from nasvl.config import limits as L
from nasvl.config.names import check_name
from nasvl.errors import known
from nasvl.ops import op_names, op_rejects
from nasvl.space.schema import (
    ChoiceBlock,
    Constraints,
    MixerSpec,
    SearchSpace,
    StageSpec,
    StemSpec,
)
from nasvl.space.tracker import TRACKERS, parse_tracker

_TOP_KEYS = {"name", "description", "branches", "share_weights", "backbone", "mixer", "ties", "tracker",
             "constraints"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def load_space(path: str | Path) -> SearchSpace:
    """Parse and validate a search-space YAML file."""
    return _parse(load_yaml(path))


def parse_space_text(text: str, file: str = "<string>") -> SearchSpace:
    return _parse(load_yaml_text(text, file))


def parse_space_dict(data: dict[str, Any], file: str = "<dict>") -> SearchSpace:
    """Rebuild a space from its raw mapping (used by exports, which embed the space)."""
    return _parse(YamlDoc(data, file))


def _ident(node: Node, what: str) -> str:
    name = node.as_str()
    if not _IDENT.fullmatch(name):
        raise node.error(f"{what} name {ascii(name)} must be an identifier (letters, digits, underscore; "
                         "at most 64 characters)")
    return name


def _op_list(node: Node) -> tuple[Node, tuple[str, ...]]:
    """Parse `{ops: [...]}` or `{fixed: op}`; returns the node to blame and the option tuple."""
    node.check_keys({"ops", "fixed"})
    mapping = node.mapping()
    if "ops" in mapping and "fixed" in mapping:
        raise node.error("give either 'ops' or 'fixed', not both")
    if "fixed" in mapping:
        return node.child("fixed"), (_known_op(node.child("fixed")),)
    return _ops(node.child("ops"))


def _known_op(node: Node) -> str:
    name = node.as_str()
    names = op_names()
    if name not in names:
        raise node.error(f"unknown op {name!r} {known(names)}")
    return name


def _ops(node: Node) -> tuple[Node, tuple[str, ...]]:
    items = node.seq()
    if not items:
        raise node.error("an op list must not be empty")
    node.within(L.SPACE_OPS, len(items))
    ops = tuple(_known_op(item) for item in items)
    if len(set(ops)) != len(ops):
        raise node.error(f"duplicate op in {list(ops)}")
    return node, ops


def _parse_stem(node: Node) -> StemSpec:
    stem = parse_dataclass(StemSpec, node)
    if stem.channels < 1 or stem.kernel < 1 or stem.stride not in (1, 2):
        raise node.error("stem needs channels >= 1, kernel >= 1 and stride 1 or 2")
    node.get("channels").within(L.SPACE_CHANNELS, stem.channels)
    node.get("kernel").within(L.SPACE_KERNEL, stem.kernel)
    return stem


def _parse_stages(node: Node, stem: StemSpec) -> tuple[list[StageSpec], dict[str, Node]]:
    stages: list[StageSpec] = []
    stage_nodes: dict[str, Node] = {}
    in_ch, total_stride = stem.channels, stem.stride
    if not node.mapping():
        raise node.error("at least one stage is required")
    node.within(L.SPACE_STAGES, len(node.mapping()))
    for name, st in node.items():
        name = _ident(Node(node.doc, (*node.path, name), name), "stage")
        st.check_keys({"channels", "depth", "stride", "projection", "ops", "layers"}, {"channels", "depth", "stride"})
        channels = st.child("channels").as_int(min_value=2)
        st.child("channels").within(L.SPACE_CHANNELS)
        depth = st.child("depth").as_int(min_value=1)
        st.child("depth").within(L.SPACE_DEPTH)
        stride = st.child("stride").as_int()
        if stride not in (1, 2):
            raise st.child("stride").error(f"stride must be 1 or 2, got {stride}")
        projection = st.get("projection", False).as_bool() if "projection" in st.mapping() else False
        if channels % 2:
            raise st.child("channels").error(f"channels must be even (channel split), got {channels}")
        if stride == 1 and channels != in_ch and not projection:
            raise st.error(f"the first layer changes width {in_ch}→{channels} at stride 1; "
                           "set projection: true")
        if projection and channels <= in_ch:
            raise st.child("projection").error(
                f"a projection layer must widen the feature ({in_ch}→{channels} does not)")
        total_stride *= stride
        stages.append(StageSpec(name, channels, depth, stride, projection, total_stride))
        stage_nodes[name] = st
        in_ch = channels
    return stages, stage_nodes


def _layer_overrides(node: Node, depth: int) -> dict[int, Node]:
    out = {}
    for idx, child in node.items():
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < depth:
            raise child.error(f"layer index {idx!r} must be an integer in 0..{depth - 1}")
        out[idx] = child
    return out


def _glob(pattern: str, path: str) -> tuple[str, ...] | None:
    """Match `pattern` ('*' = one or more characters) against `path`; the groups, or None.

    Linear in the path (earlier stars take the shortest match), unlike a backtracking regex,
    so a hostile pattern such as `*a*a*` cannot make validation slow.
    """
    parts = pattern.split("*")
    if len(parts) == 1:
        return () if pattern == path else None
    if not path.startswith(parts[0]) or not path.endswith(parts[-1]):
        return None
    pos, end, groups = len(parts[0]), len(path) - len(parts[-1]), []
    for literal in parts[1:-1]:
        found = path.find(literal, pos + 1, end - 1) if literal else pos + 1
        if found < 0 or found + len(literal) > end - 1:
            return None
        groups.append(path[pos:found])
        pos = found + len(literal)
    if end - pos < 1:
        return None
    groups.append(path[pos:end])
    return tuple(groups)


def _resolve_ties(root: Node, slots: dict[str, ChoiceBlock]) -> dict[str, str]:
    """Expand `ties:` patterns into follower → root-leader, rejecting cycles and mismatches."""
    ties_node = root.get("ties", None)
    ties_node.within(L.SPACE_TIES, len(ties_node.mapping()))
    direct: dict[str, tuple[str, Node]] = {}
    choice_paths = [p for p, s in slots.items() if not s.fixed]
    for pattern, tnode in ties_node.items():
        target = tnode.as_str()
        if not isinstance(pattern, str) or pattern.count("*") != target.count("*"):
            raise tnode.error("a tie maps a block (pattern) to a block (pattern) with the same number of '*'")
        matched = False
        for path in choice_paths:
            groups = _glob(pattern, path)
            if groups is None:
                continue
            matched = True
            leader = target
            for group in groups:
                leader = leader.replace("*", group, 1)
            if leader not in slots:
                raise tnode.error(f"tie target {leader!r} (for {path}) is not a block of this space")
            if slots[leader].fixed:
                raise tnode.error(f"tie target {leader!r} is a fixed layer, not a choice block")
            if slots[leader].options != slots[path].options:
                raise tnode.error(f"{path} and {leader} are tied but have different options "
                                  f"{list(slots[path].options)} vs {list(slots[leader].options)}")
            if leader == path:
                raise tnode.error(f"{path} is tied to itself")
            direct[path] = (leader, tnode)
        if not matched:
            raise Node(root.doc, (*ties_node.path, pattern), None).error(
                f"tie pattern {pattern!r} matches no choice block")
    resolved: dict[str, str] = {}
    for path, (leader, tnode) in direct.items():
        chain, seen = [path], {path}  # a set for membership: chains may be long
        while leader in direct and leader not in resolved:
            if leader in seen:
                raise tnode.error("tie cycle: " + " -> ".join([*chain, leader]))
            chain.append(leader)
            seen.add(leader)
            leader = direct[leader][0]
        leader = resolved.get(leader, leader)
        for follower in chain:
            resolved[follower] = leader
    return resolved


def _parse(doc: YamlDoc) -> SearchSpace:
    root = doc.root
    root.check_keys(_TOP_KEYS, {"name", "branches", "backbone"})
    name = check_name(root.child("name").as_str(), what="space name", file=doc.file,
                      line=doc.line(("name",)), path="name")
    backbone = root.child("backbone")
    backbone.check_keys({"stem", "ops", "stages"}, {"stem", "stages"})
    stem = _parse_stem(backbone.child("stem"))
    stages, stage_nodes = _parse_stages(backbone.child("stages"), stem)
    stage_names = [s.name for s in stages]
    default_ops = _ops(backbone.child("ops")) if "ops" in backbone.mapping() else None

    mixer_node = root.get("mixer", None)
    mixer: MixerSpec | None = None
    if mixer_node.value is not None:
        mixer = _parse_mixer(mixer_node, stages)

    branches_node = root.child("branches")
    if not branches_node.mapping():
        raise branches_node.error("at least one branch is required")
    branches_node.within(L.SPACE_BRANCHES, len(branches_node.mapping()))
    # Blocks per branch are known before any is built: refuse a space too big to hold in memory first.
    per_branch = sum(st.depth for st in stages) + 2 * len(mixer.stages if mixer else ())
    branches_node.within(L.SPACE_BLOCKS, per_branch * len(branches_node.mapping()))
    branches: list[str] = []
    inputs: list[tuple[str, int]] = []
    slots: dict[str, ChoiceBlock] = {}
    blame: dict[str, Node] = {}
    for bname, bnode in branches_node.items():
        bname = _ident(Node(doc, (*branches_node.path, bname), bname), "branch")
        bnode.check_keys({"input", "backbone", "mixer"}, {"input"})
        size = bnode.child("input").as_int(min_value=1)
        bnode.child("input").within(L.SPACE_INPUT)
        if size < stages[-1].out_stride:
            raise bnode.child("input").error(f"input {size} is smaller than the total stride {stages[-1].out_stride}")
        branches.append(bname)
        inputs.append((bname, size))
        b_over = bnode.get("backbone", None)
        for key, _ in b_over.items():
            if key not in stage_nodes:
                raise b_over.child(key).error(f"unknown stage {key!r} {known(stage_names)}")
        in_ch = stem.channels
        for st in stages:
            snode = stage_nodes[st.name]
            stage_ops = _ops(snode.child("ops")) if "ops" in snode.mapping() else default_ops
            layer_over = _layer_overrides(snode.get("layers", None), st.depth)
            bst = b_over.get(st.name, None)
            bst.check_keys({"ops", "layers"})
            if "ops" in bst.mapping():
                stage_ops = _ops(bst.child("ops"))
            b_layer_over = _layer_overrides(bst.get("layers", None), st.depth)
            for i in range(st.depth):
                over = b_layer_over.get(i) or layer_over.get(i)
                blame_node, ops = _op_list(over) if over is not None else (stage_ops or (snode, None))
                if ops is None:
                    raise snode.error("no candidate ops: set backbone.ops, the stage's ops, or per-layer ops")
                path = f"{bname}.{st.name}.{i}"
                slot = ChoiceBlock(path, bname, st.name, "layer", i, ops, in_ch if i == 0 else st.channels,
                                   st.channels, st.stride if i == 0 else 1, st.projection and i == 0)
                _check_ops(blame_node, slot)
                slots[path], blame[path] = slot, blame_node
            in_ch = st.channels
        if mixer is not None:
            m_over = bnode.get("mixer", None)
            for key, _ in m_over.items():
                if key not in mixer.stages:
                    raise m_over.child(key).error(f"no mixer at stage {key!r} {known(mixer.stages)}")
            for st_name in mixer.stages:
                ch = next(s.channels for s in stages if s.name == st_name)
                mst = m_over.get(st_name, None)
                kinds = mixer_kinds(mixer)
                mst.check_keys(set(kinds))
                for kind in kinds:
                    src = mst.child(kind) if kind in mst.mapping() else mixer_node.child(kind)
                    blame_node, ops = _op_list(src)
                    path = f"{bname}.{st_name}.{kind}"
                    slot = ChoiceBlock(path, bname, st_name, kind, None, ops, ch, ch)
                    _check_ops(blame_node, slot)
                    slots[path], blame[path] = slot, blame_node
        elif "mixer" in bnode.mapping():
            raise bnode.child("mixer").error("this branch overrides mixer blocks but the space has no mixer section")

    _check_estimates(root, stem, stages, dict(inputs), slots, mixer)
    if mixer is not None and mixer.shared:
        _check_shared_mixer(mixer_node, mixer, branches, slots)
    leaders = _resolve_ties(root, slots)
    final = tuple(dataclasses.replace(s, leader=leaders.get(p)) for p, s in slots.items())
    share = root.get("share_weights", True).as_bool()
    tracker = parse_tracker(root.get("tracker", None))
    constraints = parse_dataclass(Constraints, root.get("constraints", {}))
    raw = {k: v for k, v in doc.data.items() if k != "description"}
    # Order-preserving: the order of stages and branches is part of the network.
    space_hash = hashlib.sha256(json.dumps(raw, default=str).encode()).hexdigest()[:16]
    space = SearchSpace(name, doc.file, tuple(branches), tuple(inputs), share, stem, tuple(stages), final,
                        mixer, tracker, constraints, space_hash, doc.data)
    if tracker is not None:
        plugin_cls = TRACKERS.get(tracker.name)
        reason = plugin_cls(tracker.options, space).check_space(space)
        if reason:
            raise root.child("tracker").error(f"tracker {tracker.name!r} cannot wrap this space: {reason}")
    return space


def _check_estimates(root: Node, stem: StemSpec, stages: list[StageSpec], inputs: dict[str, int],
                     slots: dict[str, ChoiceBlock], mixer: MixerSpec | None) -> None:
    """Refuse a space whose supernet could not be held in memory, from the YAML alone (no tensors)."""
    params = sum(len(s.options) * max(s.in_channels, s.out_channels) ** 2 for s in slots.values())
    if mixer is not None:
        params += 2 * len(inputs) * sum(mixer.language_dim * st.channels for st in stages if st.name in mixer.stages)
    activations = 0
    for size in inputs.values():
        res = -(-size // stem.stride)
        activations += res * res * stem.channels
        for st in stages:
            res = -(-res // st.stride)
            mixers = 2 if mixer is not None and st.name in mixer.stages else 0
            activations += res * res * st.channels * (st.depth + mixers)
    root.child("backbone").within(L.SPACE_SUPERNET_PARAMS, params)
    root.child("branches").within(L.SPACE_ACTIVATIONS, activations)


def mixer_kinds(mixer: MixerSpec) -> tuple[str, ...]:
    """The searched blocks of one mixer: pre and post, or post alone when the last layer is pre."""
    return ("post",) if mixer.placement == "last_layer" else ("pre", "post")


def _parse_mixer(node: Node, stages: list[StageSpec]) -> MixerSpec:
    stage_names = [s.name for s in stages]
    node.check_keys({"stages", "language_dim", "pre", "post", "placement", "shared", "projection",
                     "template_token", "language_norm"},
                    {"language_dim", "post"})
    mstages = [s.as_str() for s in node.child("stages").seq()] if "stages" in node.mapping() else stage_names
    for i, st in enumerate(mstages):
        if st not in stage_names:
            raise node.child("stages").child(i).error(f"unknown stage {st!r} {known(stage_names)}")
        if st in mstages[:i]:
            raise node.child("stages").child(i).error(f"stage {st!r} is listed twice")
    node.child("language_dim").within(L.SPACE_LANGUAGE_DIM)
    placement = node.get("placement", "after").as_str()
    if placement not in ("after", "last_layer"):
        raise node.child("placement").error(f"unknown placement {placement!r} (known: after, last_layer)")
    projection = node.get("projection", "linear").as_str()
    if projection not in ("linear", "conv_bn"):
        raise node.child("projection").error(f"unknown projection {projection!r} (known: conv_bn, linear)")
    template_token = node.get("template_token", "pooled").as_str()
    if template_token not in ("pooled", "official"):
        raise node.child("template_token").error(
            f"unknown template_token {template_token!r} (known: official, pooled)")
    norm = node.get("language_norm", "none").as_str()
    if norm not in ("none", "center", "standardize"):
        raise node.child("language_norm").error(f"unknown language_norm {norm!r} (known: center, none, standardize)")
    if placement == "after" and "pre" not in node.mapping():
        raise node.error("missing key 'pre' (placement 'after' searches a pre block)")
    if placement == "last_layer":
        if "pre" in node.mapping():
            raise node.child("pre").error("placement 'last_layer' has no pre block: the stage's last layer is pre")
        for st in stages:
            if st.name in mstages and st.depth < 2:
                raise node.child("placement").error(
                    f"placement 'last_layer' needs depth >= 2 at {st.name} (its last layer is the pre block)")
    shared = node.get("shared", False).as_bool() if "shared" in node.mapping() else False
    return MixerSpec(tuple(mstages), node.child("language_dim").as_int(min_value=1), placement,  # type: ignore[arg-type]
                     shared, projection, template_token, norm)  # type: ignore[arg-type]


def _check_shared_mixer(node: Node, mixer: MixerSpec, branches: list[str], slots: dict[str, ChoiceBlock]) -> None:
    """Shared mixers hold one block set per stage, so every branch must offer the same options."""
    for st in mixer.stages:
        for kind in mixer_kinds(mixer):
            options = {slots[f"{b}.{st}.{kind}"].options for b in branches}
            if len(options) > 1:
                raise node.child("shared").error(
                    f"shared mixers need the same {kind} options in every branch at {st}, "
                    f"got {sorted(list(o) for o in options)}")


def _check_ops(blame: Node, slot: ChoiceBlock) -> None:
    for op in slot.options:
        reason = op_rejects(op, slot.op_spec())
        if reason:
            raise blame.error(f"op {op!r} cannot be used at {slot.path}: {reason}")
