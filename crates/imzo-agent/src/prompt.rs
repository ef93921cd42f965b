//! Asking the user: passwords and confirmations never go through the web page, but
//! through a dialog the module owns — pinentry (the Assuan-protocol program desktops
//! ship) or the terminal the module was started from.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use zeroize::Zeroizing;

/// Why a dialog could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The dialog program could not be started or talked to.
    #[error("the password dialog {program} failed: {reason}")]
    Dialog {
        /// The program.
        program: String,
        /// What went wrong.
        reason: String,
    },
    /// The terminal could not be used.
    #[error("the terminal cannot be used for the dialog: {0}")]
    Terminal(String),
}

/// A password question.
#[derive(Debug, Clone)]
pub struct PasswordRequest {
    /// Window title.
    pub title: String,
    /// What is asked and why (names the site and the key's owner).
    pub description: String,
    /// The label next to the input field.
    pub prompt: String,
    /// Ask twice and require equal answers (new passwords).
    pub repeat: bool,
}

/// A yes/no question, optionally with a third answer "yes, and trust until unloaded".
#[derive(Debug, Clone)]
pub struct ConfirmRequest {
    /// Window title.
    pub title: String,
    /// What is asked.
    pub description: String,
    /// Label of the "yes" button.
    pub ok: String,
    /// Label of the "yes, and do not ask again" button, if offered.
    pub trust: Option<String>,
    /// Label of the "no" button.
    pub cancel: String,
}

/// The user's answer to a [`ConfirmRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Yes, this once.
    Yes,
    /// Yes, and do not ask again (the request's `trust` answer).
    YesAndTrust,
    /// No (or the dialog was closed).
    No,
}

/// A way to ask the user. Calls block until the user answers.
pub trait Prompt: Send + Sync {
    /// Asks for a password; `None` when the user cancelled.
    fn password(&self, request: &PasswordRequest)
    -> Result<Option<Zeroizing<String>>, PromptError>;
    /// Asks for a confirmation.
    fn confirm(&self, request: &ConfirmRequest) -> Result<Decision, PromptError>;
}

/// The pinentry backend: runs the program once per question and speaks Assuan to it.
#[derive(Debug, Clone)]
pub struct Pinentry {
    program: PathBuf,
    timeout_seconds: u32,
}

/// Assuan error code (GPG_ERR_SOURCE_PINENTRY << 24 | GPG_ERR_NOT_CONFIRMED): the
/// third ("not ok") button was pressed.
const NOT_CONFIRMED: &str = "83886194";

impl Pinentry {
    /// A pinentry at `program` (e.g. `/usr/bin/pinentry`); dialogs close themselves after
    /// two minutes.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Pinentry {
            program: program.into(),
            timeout_seconds: 120,
        }
    }

    fn fail(&self, reason: impl std::fmt::Display) -> PromptError {
        PromptError::Dialog {
            program: self.program.display().to_string(),
            reason: reason.to_string(),
        }
    }

    fn start(&self) -> Result<Session<'_>, PromptError> {
        let mut child = Command::new(&self.program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| self.fail(format!("cannot start: {e}")))?;
        let stdin = child.stdin.take().ok_or_else(|| self.fail("no stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| self.fail("no stdout"))?;
        let mut session = Session {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            owner: self,
        };
        session
            .reply()?
            .map_err(|e| self.fail(format!("greeting: {e}")))?;
        session.command(&format!("SETTIMEOUT {}", self.timeout_seconds))?;
        Ok(session)
    }
}

/// Escapes a parameter of an Assuan command (`%`, CR and LF are percent-encoded).
pub(crate) fn assuan_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Decodes the `%XX` escapes of an Assuan data line.
pub(crate) fn assuan_unescape(data: &str) -> Zeroizing<Vec<u8>> {
    let bytes = data.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_digit(bytes[i + 1]), hex_digit(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

struct Session<'a> {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    owner: &'a Pinentry,
}

/// An Assuan reply: data lines collected, then OK or the ERR line's text.
type Reply = Result<Zeroizing<String>, String>;

impl Session<'_> {
    fn send(&mut self, line: &str) -> Result<(), PromptError> {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| self.owner.fail(format!("write: {e}")))
    }

    fn reply(&mut self) -> Result<Reply, PromptError> {
        let mut data = Zeroizing::new(String::new());
        loop {
            let mut line = Zeroizing::new(String::new());
            let n = self
                .stdout
                .read_line(&mut line)
                .map_err(|e| self.owner.fail(format!("read: {e}")))?;
            if n == 0 {
                return Err(self.owner.fail("the program closed the connection"));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line == "OK" || line.starts_with("OK ") {
                return Ok(Ok(data));
            } else if let Some(err) = line.strip_prefix("ERR ") {
                return Ok(Err(err.to_string()));
            } else if let Some(d) = line.strip_prefix("D ") {
                let bytes = assuan_unescape(d);
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| self.owner.fail("the password is not UTF-8"))?;
                data.push_str(text);
            } else if line.starts_with("INQUIRE") {
                self.send("CAN")?;
            }
            // Status ("S …") and comment ("# …") lines carry nothing we need.
        }
    }

    /// Sends a command that must succeed.
    fn command(&mut self, line: &str) -> Result<(), PromptError> {
        self.send(line)?;
        match self.reply()? {
            Ok(_) => Ok(()),
            Err(e) => Err(self.owner.fail(format!("{line:.20}…: {e}"))),
        }
    }

    /// Sends a command whose refusal is harmless (an older pinentry may not know it).
    fn optional(&mut self, line: &str) -> Result<(), PromptError> {
        self.send(line)?;
        self.reply().map(|_| ())
    }

    fn finish(mut self) {
        let _ = self.send("BYE");
        let _ = self.child.wait();
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // A dialog left behind would keep asking; finish() has normally reaped it.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Prompt for Pinentry {
    fn password(
        &self,
        request: &PasswordRequest,
    ) -> Result<Option<Zeroizing<String>>, PromptError> {
        let mut s = self.start()?;
        s.optional(&format!("SETTITLE {}", assuan_escape(&request.title)))?;
        s.command(&format!("SETDESC {}", assuan_escape(&request.description)))?;
        s.command(&format!("SETPROMPT {}", assuan_escape(&request.prompt)))?;
        if request.repeat {
            s.optional("SETREPEAT Repeat:")?;
            s.optional("SETREPEATERROR The passwords differ")?;
        }
        s.send("GETPIN")?;
        let reply = s.reply()?;
        s.finish();
        match reply {
            Ok(pin) if !pin.is_empty() => Ok(Some(pin)),
            // An empty answer or a cancelled dialog: no password.
            Ok(_) | Err(_) => Ok(None),
        }
    }

    fn confirm(&self, request: &ConfirmRequest) -> Result<Decision, PromptError> {
        let mut s = self.start()?;
        s.optional(&format!("SETTITLE {}", assuan_escape(&request.title)))?;
        s.command(&format!("SETDESC {}", assuan_escape(&request.description)))?;
        s.optional(&format!("SETOK {}", assuan_escape(&request.ok)))?;
        s.optional(&format!("SETCANCEL {}", assuan_escape(&request.cancel)))?;
        if let Some(trust) = &request.trust {
            s.optional(&format!("SETNOTOK {}", assuan_escape(trust)))?;
        }
        s.send("CONFIRM")?;
        let reply = s.reply()?;
        s.finish();
        Ok(match reply {
            Ok(_) => Decision::Yes,
            // Only the explicitly offered third button yields "not confirmed"; anything
            // else (cancel, timeout, closed window) is a refusal.
            Err(e) if request.trust.is_some() && e.split(' ').next() == Some(NOT_CONFIRMED) => {
                Decision::YesAndTrust
            }
            Err(_) => Decision::No,
        })
    }
}

/// The terminal backend: asks on the controlling terminal (`/dev/tty`).
#[derive(Debug, Clone, Default)]
pub struct Terminal;

impl Terminal {
    fn read_line(question: &str) -> Result<String, PromptError> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|e| PromptError::Terminal(e.to_string()))?;
        let mut out = tty
            .try_clone()
            .map_err(|e| PromptError::Terminal(e.to_string()))?;
        write!(out, "{question}").map_err(|e| PromptError::Terminal(e.to_string()))?;
        out.flush()
            .map_err(|e| PromptError::Terminal(e.to_string()))?;
        let mut line = String::new();
        BufReader::new(tty)
            .read_line(&mut line)
            .map_err(|e| PromptError::Terminal(e.to_string()))?;
        Ok(line.trim().to_string())
    }
}

impl Prompt for Terminal {
    fn password(
        &self,
        request: &PasswordRequest,
    ) -> Result<Option<Zeroizing<String>>, PromptError> {
        eprintln!("\n== {} ==\n{}", request.title, request.description);
        let first = Zeroizing::new(
            rpassword::prompt_password(format!("{} ", request.prompt))
                .map_err(|e| PromptError::Terminal(e.to_string()))?,
        );
        if first.is_empty() {
            return Ok(None);
        }
        if request.repeat {
            let second = Zeroizing::new(
                rpassword::prompt_password("Repeat: ")
                    .map_err(|e| PromptError::Terminal(e.to_string()))?,
            );
            if *first != *second {
                eprintln!("The passwords differ.");
                return Ok(None);
            }
        }
        Ok(Some(first))
    }

    fn confirm(&self, request: &ConfirmRequest) -> Result<Decision, PromptError> {
        let mut question = format!(
            "\n== {} ==\n{}\n[y] {}",
            request.title, request.description, request.ok
        );
        if let Some(trust) = &request.trust {
            question.push_str(&format!("   [a] {trust}"));
        }
        question.push_str(&format!("   [N] {}\n> ", request.cancel));
        let answer = Self::read_line(&question)?.to_lowercase();
        Ok(match answer.as_str() {
            "y" | "yes" | "ha" => Decision::Yes,
            "a" | "always" if request.trust.is_some() => Decision::YesAndTrust,
            _ => Decision::No,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escaping() {
        assert_eq!(assuan_escape("50% of\nit"), "50%25 of%0Ait");
        assert_eq!(&*assuan_unescape("a%25b%0Ac"), b"a%b\nc");
        assert_eq!(&*assuan_unescape("%zz%4"), b"%zz%4");
    }

    proptest! {
        #[test]
        fn escape_round_trips(s in "\\PC*") {
            let escaped = assuan_escape(&s);
            prop_assert!(!escaped.contains('\n'));
            prop_assert_eq!(&*assuan_unescape(&escaped), s.as_bytes());
        }
    }
}
