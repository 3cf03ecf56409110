//! A `TestBackend` that hands each frame it flushes to a callback: for the
//! tests and benchmarks that watch the real event loop draw (what the
//! screen shows, and when) while it runs.

use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Size};

pub struct Watched<F: FnMut(&Buffer)> {
    inner: TestBackend,
    on_flush: F,
}

impl<F: FnMut(&Buffer)> Watched<F> {
    /// A `width` x `height` screen; `on_flush` sees each frame as drawn.
    pub fn new(width: u16, height: u16, on_flush: F) -> Watched<F> {
        Watched {
            inner: TestBackend::new(width, height),
            on_flush,
        }
    }
}

/// Row `y` of `buffer` as text.
pub fn row(buffer: &Buffer, y: usize) -> String {
    let width = buffer.area.width as usize;
    buffer.content[y * width..(y + 1) * width]
        .iter()
        .map(Cell::symbol)
        .collect()
}

impl<F: FnMut(&Buffer)> Backend for Watched<F> {
    type Error = <TestBackend as Backend>::Error;

    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.inner.set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        self.inner.flush()?;
        (self.on_flush)(self.inner.buffer());
        Ok(())
    }
}
