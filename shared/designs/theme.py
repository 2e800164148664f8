"""Colour contrast as WCAG 2.1 defines it (relative luminance, 1.4.3), for a page's theme."""

# Normal text needs 4.5:1 against its background (WCAG 2.1 AA, 1.4.3).
MIN_CONTRAST = 4.5
BLACK = "#000000"
WHITE = "#ffffff"


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.04045 else ((srgb + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """The relative luminance of `#rrggbb`."""
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast(first: str, second: str) -> float:
    """The contrast ratio of two colours, from 1 to 21."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever reads better on the background."""
    return BLACK if contrast(BLACK, background) >= contrast(WHITE, background) else WHITE
