//! The applicant portal: server-rendered pages in Uzbek (Latin and Cyrillic), Russian and
//! English, with small scripts that talk to the JSON API and to the signing module.

pub(crate) mod assets;
pub(crate) mod console;
pub(crate) mod download;
mod i18n;
pub(crate) mod layout;
mod messages;
pub(crate) mod pages;

#[cfg(test)]
mod tests;
