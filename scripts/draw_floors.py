"""Draws the floor plan that scripts/check_layers.py checks (FLOORS) as docs/floors.svg, the
picture in the README and docs/architecture.md; tests/test_layers.py fails when the two differ, so
the picture cannot drift from the check.

    .venv/bin/python scripts/draw_floors.py > docs/floors.svg
"""

from html import escape

from check_layers import FLOORS

WIDTH, ROW, TOP = 1000, 38, 56
APPS_X, HOLDS_X = 64, 616
CHAR_WIDTH = 8  # of the 13 px monospace the app names are set in


def svg() -> str:
    height = TOP + ROW * len(FLOORS) + 16
    rows = []
    for index, (apps, holds) in enumerate(FLOORS):
        y = TOP + ROW * (len(FLOORS) - 1 - index)  # the ground floor at the bottom
        rows.append(f'  <text class="floor" x="40" y="{y + 21}">{index}</text>')
        x = APPS_X
        for app in apps:
            width = CHAR_WIDTH * len(app) + 20
            rows.append(f'  <rect class="app" x="{x}" y="{y + 4}" width="{width}" height="26" rx="6"/>')
            rows.append(f'  <text class="name" x="{x + 10}" y="{y + 22}">{app}</text>')
            x += width + 8
        rows.append(f'  <text class="holds" x="{HOLDS_X}" y="{y + 21}">{escape(holds)}</text>')
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="Noto Sans CJK SC, Source Han Sans SC, sans-serif">',
            "  <title>清卡 Qingka: the floors of apps/</title>",
            "  <style>",
            "    .app { fill: #eef2ff; stroke: #4338ca; stroke-width: 1.2; }",
            "    .name { font-family: monospace; font-size: 13px; fill: #1e1b4b; }",
            "    .floor { font-size: 13px; fill: #64748b; text-anchor: end; }",
            "    .holds { font-size: 13px; fill: #334155; }",
            "    .title { font-size: 15px; font-weight: bold; fill: #0f172a; }",
            "  </style>",
            '  <text class="title" x="20" y="28">apps/: each floor imports only from the floors below it '
            "(scripts/check_layers.py, in make lint)</text>",
            *rows,
            "</svg>",
            "",
        ]
    )


if __name__ == "__main__":
    print(svg(), end="")
