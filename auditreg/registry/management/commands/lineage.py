"""Print where a version (or run, or snapshot) came from, or what was built from a snapshot."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.errors import DomainError
from auditreg.registry import impact
from lineage import queries


class Command(BaseCommand):
    help = "Answer lineage questions: --upstream SUBJECT, --downstream SUBJECT, --diff A B."

    def add_arguments(self, parser: CommandParser) -> None:
        question = parser.add_mutually_exclusive_group(required=True)
        question.add_argument("--upstream", metavar="SUBJECT", help="e.g. model:credit-pd/2")
        question.add_argument("--downstream", metavar="SUBJECT", help="e.g. dataset:name@label")
        question.add_argument("--diff", nargs=2, metavar=("FROM", "TO"), help="two versions")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["diff"]:
                self.diff(*options["diff"])
            elif options["upstream"]:
                self.graph(queries.upstream(options["upstream"]))
            else:
                self.graph(impact.downstream(options["downstream"]))
        except DomainError as exc:
            raise CommandError(str(exc)) from None

    def graph(self, graph: queries.Graph) -> None:
        self.stdout.write(f"{graph.direction} of {graph.subject}:")
        for node in graph.nodes[1:]:
            kind = node.kind or "not recorded"
            digest = f"  {node.digest}" if node.digest not in node.subject else ""
            self.stdout.write(f"  {'  ' * (node.depth - 1)}{kind:<12} {node.subject}{digest}")
        for version in graph.versions:
            uses = ", ".join(
                f"{use['use_case']} ({use['as']}, {_standing(use)})" for use in version["use_cases"]
            )
            self.stdout.write(
                f"  affected: {version['subject']} [{version['stage']}]"
                + (f" authorized for {uses}" if uses else " (no authorization)")
            )

    def diff(self, first: str, second: str) -> None:
        change = impact.diff(first, second)
        self.stdout.write(f"{change['from']} → {change['to']}:")
        data = change["data"]
        for label in ("added", "removed"):
            for subject in data[label]:
                self.stdout.write(f"  data {label}: {subject}")
        if change["code"]["changed"]:
            self.stdout.write(
                f"  code: {change['code']['from']['commit']} → {change['code']['to']['commit']}"
            )
        environment = change["environment"]
        for name, item in environment["packages"]["changed"].items():
            self.stdout.write(f"  package {name}: {item['from']} → {item['to']}")
        for section in ("parameters", "metrics"):
            for name, item in change[section]["changed"].items():
                self.stdout.write(f"  {section[:-1]} {name}: {item['from']} → {item['to']}")
            for name, value in change[section]["added"].items():
                self.stdout.write(f"  {section[:-1]} {name} added: {value}")
            for name, value in change[section]["removed"].items():
                self.stdout.write(f"  {section[:-1]} {name} removed: {value}")


def _standing(use: dict[str, Any]) -> str:
    return "in force" if use["in_force"] else str(use["status"])
