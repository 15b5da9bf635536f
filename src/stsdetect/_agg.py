"""An Agg canvas that draws text from cached glyph images, for figures drawn many times.

Matplotlib 3.11's Agg renderer lays out every string with FreeType/raqm and renders every
glyph through FreeType on each draw, at about 0.1 ms a glyph: three quarters of the time of
the report's maps and timelines went into their few dozen labels. :class:`GlyphCacheCanvas`
keeps, for the life of the canvas, each string's layout and each glyph's rendered image
keyed by font, size, angle, hinting and the glyph's sub-pixel offset (1/64 pixel, as
FreeType places it), and blends the cached image in. A glyph moved by whole pixels
rasterises to the same image, so the output is pixel-identical to the stock renderer
(``tests/test_plot.py`` compares them).

This reaches into private pieces of matplotlib's Agg backend (``FT2Font._layout``,
``_set_transform``, ``_render_glyph``). Where they are missing or behave differently (other
matplotlib versions, whose renderers draw whole strings at once and need no cache), the
first failure switches the cache off for good and the stock renderer draws everything.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag

__all__ = ["GlyphCacheCanvas"]

#: The glyph images kept per renderer before the cache starts afresh (a few hundred bytes
#: each; a report's 100 figures need about 500).
MAX_GLYPHS = 50_000


class _GlyphCacheRenderer(RendererAgg):
    """RendererAgg whose :meth:`draw_text` reuses layouts and glyph images."""

    #: Set to False, for every renderer, on the first failure of the private API.
    supported = True

    def __init__(self, width, height, dpi):
        super().__init__(width, height, dpi)
        self._layouts: dict = {}
        self._glyphs: dict = {}
        self._heights: dict = {}

    def _get_font_height_metrics(self, prop):
        """(ascent, descent, line gap) in pixels of the font of ``prop``, from its tables:
        what ``Text._get_layout`` otherwise reads anew (font lookup and all) for every text
        on every draw; computed as it does, once per font and size."""
        key = _prop_key(prop)
        metrics = self._heights.get(key)
        if metrics is None:
            metrics = _font_height_metrics(prop, self.dpi)
            self._heights[key] = metrics
        return metrics

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath or not _GlyphCacheRenderer.supported:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        try:
            self._draw_cached(gc, x, y, s, prop, angle, mtext)
        except (AttributeError, TypeError, ImportError):  # another matplotlib: stock drawing
            _GlyphCacheRenderer.supported = False
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)

    def _draw_cached(self, gc, x, y, s, prop, angle, mtext):
        from matplotlib.ft2font import RenderMode

        flags = get_hinting_flag()
        size = prop.get_size_in_points()
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        features = None if features is None else tuple(features)
        key = (_prop_key(prop), s, flags, features, language)
        items = self._layouts.get(key)
        if items is None:
            font = self._prepare_font(prop)
            items = [(item.ft_object, item.glyph_index, item.x, item.y)
                     for item in font._layout(s, flags=flags, features=features,
                                              language=language)]
            self._layouts[key] = items
        if len(self._glyphs) > MAX_GLYPHS:
            self._glyphs.clear()
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        antialiased = gc.get_antialiased()
        height = self.height
        matrix = None
        for font, glyph, dx, dy in items:  # the glyphs of one string
            # FreeType's 26.6 fixed-point position (y upwards), as the stock renderer has it.
            px = round(0x40 * (x + dx * cos - dy * sin))
            py = round(0x40 * (height - y + dx * sin + dy * cos))
            gkey = (id(font), size, glyph, angle, px & 0x3F, py & 0x3F, flags, antialiased)
            cached = self._glyphs.get(gkey)
            if cached is None:
                if matrix is None:
                    matrix = (0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int)
                font.set_size(size, self.dpi)
                font._set_transform(matrix, [px & 0x3F, py & 0x3F])  # the sub-pixel part
                bitmap = font._render_glyph(
                    glyph, flags, RenderMode.NORMAL if antialiased else RenderMode.MONO)
                buffer = np.array(bitmap.buffer)  # a copy: FreeType reuses its own
                if not antialiased:
                    buffer *= 0xFF
                cached = (buffer, bitmap.left, bitmap.top)
                self._glyphs[gkey] = cached
            buffer, left, top = cached
            # Whole pixels of the position move the image; its bottom row is y (downwards).
            self._renderer.draw_text_image(
                buffer, left + (px >> 6), int(height) - (top + (py >> 6)) + buffer.shape[0],
                0, gc)


def _prop_key(prop) -> tuple:
    """What a :class:`~matplotlib.font_manager.FontProperties` is compared by (its hash's
    fields, kept whole so that two fonts can never share a cache entry)."""
    return (tuple(prop.get_family()), prop.get_slant(), prop.get_variant(),
            prop.get_weight(), prop.get_stretch(), prop.get_size(), prop.get_file(),
            prop.get_math_fontfamily())


def _font_height_metrics(prop, dpi: float):
    """The font's ascent, descent and line gap in pixels at ``dpi`` as matplotlib 3.11's
    ``Text._get_layout`` reads them (OS/2 typographic values, else hhea); Nones when the
    font has neither table, so that matplotlib measures instead."""
    from matplotlib.font_manager import fontManager, get_font

    font = get_font(fontManager._find_fonts_by_props(prop))
    for table_name, gap_key, ascent_key, descent_key in (
            ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
            ("hhea", "lineGap", "ascent", "descent")):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * prop.get_size_in_points() \
            * dpi / 72
        return table[ascent_key] * scale, -table[descent_key] * scale, table[gap_key] * scale
    return None, None, None


class GlyphCacheCanvas(FigureCanvasAgg):
    """A :class:`~matplotlib.backends.backend_agg.FigureCanvasAgg` whose renderer caches text
    layouts and glyph images (kept while the figure's size and dpi stay the same)."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _GlyphCacheRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer
