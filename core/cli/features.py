"""Commands over the feature store: build, preview, list and show feature sets."""
from __future__ import annotations

import json

from core import features
from core.data import datasets
from core.cli._args import read_spec
from core.cli._context import Context, Parser


def cmd_features_build(ctx: Context, args) -> dict:
    built = features.build(ctx.lake, features.load_spec(read_spec(args.spec)), actor=ctx.actor, usecase=args.usecase,
                           progress=ctx.progress)
    return {"feature_set": built.name, "version": built.version, "rows": built.rows, "columns": built.column_names,
            "snapshot": built.snapshot, "lineage": list(built.lineage)}


def cmd_features_preview(ctx: Context, args) -> dict:
    frame = features.preview(ctx.lake, features.load_spec(read_spec(args.spec)), rows=args.rows)
    return {"rows": len(frame), "columns": list(frame.columns),
            "preview": json.loads(frame.to_json(orient="records", date_format="iso"))}


def cmd_features_list(ctx: Context, args) -> dict:
    return {"feature_sets": [{"name": f.name, "version": f.version, "usecase": f.usecase, "entity": f.entity,
                              "timestamp": f.timestamp, "label": f.label, "rows": f.rows, "features": f.features,
                              "description": f.description, "owner": f.owner, "created_at": f.created_at}
                             for f in features.latest(ctx.lake, usecase=args.usecase, search=args.search or "")]}


def cmd_features_show(ctx: Context, args) -> dict:
    version = features.get(ctx.lake, args.name)
    preview = datasets.read_frame(ctx.lake, version, limit=100)
    return {**version.to_dict(), "features": version.features,
            "preview": json.loads(preview.to_json(orient="records", date_format="iso"))}


def register(sub) -> None:
    p = sub.add_parser("features", help="build, list and show feature sets")
    fsub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    a = fsub.add_parser("build", help="build and register a feature set from a YAML or JSON spec")
    a.add_argument("spec", metavar="SPEC_FILE")
    a.add_argument("--usecase", help="use case (default: the spec's, else the base dataset's)")
    a.set_defaults(handler=cmd_features_build)
    a = fsub.add_parser("preview", help="the first rows of a spec's feature set, computed live (bounded; any role)")
    a.add_argument("spec", metavar="SPEC_FILE")
    a.add_argument("--rows", type=int, default=100, help="rows to compute (1 to 1,000)")
    a.set_defaults(handler=cmd_features_preview)
    a = fsub.add_parser("list", help="newest version of each feature set")
    a.add_argument("--usecase")
    a.add_argument("--search", help="text to find in names, descriptions, owners and features")
    a.set_defaults(handler=cmd_features_list)
    a = fsub.add_parser("show", help="spec, lineage, statistics and the first 100 rows")
    a.add_argument("name", metavar="NAME[@VERSION]")
    a.set_defaults(handler=cmd_features_show)
