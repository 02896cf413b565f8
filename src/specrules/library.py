"""Where the national standards that ship with specrules are: `specrules/national/*.yaml`,
package data (in the repository, a link to `specs/national`, the one copy that is edited).
A module of its own so that `--help` and `extends:` can find it without importing either."""

from pathlib import Path

NATIONAL_LIBRARY = (Path(__file__).parent / "national").resolve()
