//! Notifiers: the Telegram post and progress message, and the terminal's progress lines. They
//! subscribe to `crate::events`.

pub mod telegram;
pub mod terminal;
pub mod text;
