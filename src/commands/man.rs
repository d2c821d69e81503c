//! `followup man`: the manual page, generated from the command line's definition, with the
//! sections a page needs that clap does not know (exit status, environment, files).

use anyhow::Result;
use clap::CommandFactory;

use super::completions::write_stdout;
use crate::cli::Cli;

const EXTRA: &str = r#".SH "EXIT STATUS"
.TP
.B 0
Success.
.TP
.B 1
Bad input (every problem is reported as file:line:col: message) or a failure;
for \fBdoctor\fR, at least one check failed.
.TP
.B 2
A usage error: an unknown command or option.
.SH ENVIRONMENT
.TP
.B FOLLOWUP_CONFIG
The config file when \fB\-\-config\fR is not given.
.TP
.B XDG_CONFIG_HOME
The config is \fI$XDG_CONFIG_HOME/followup/followup.yaml\fR (default \fI~/.config\fR).
.TP
.B XDG_STATE_HOME, STATE_DIRECTORY
The state directory when the config names none: systemd's \fI$STATE_DIRECTORY\fR,
else \fI$XDG_STATE_HOME/followup\fR (default \fI~/.local/state/followup\fR).
.TP
.B CREDENTIALS_DIRECTORY
Where systemd's \fBLoadCredential=\fR puts \fIsmtp\-password\fR.
.TP
.B RUST_LOG
What is logged (default \fBwarn,followup=info\fR), e.g. \fBdebug\fR or \fBfollowup=debug\fR.
.TP
.B NO_COLOR
When set and not empty, the log is never coloured (it is coloured only on a terminal).
.TP
.B JOURNAL_STREAM, NOTIFY_SOCKET, WATCHDOG_USEC
Set by systemd: the log goes to the journal with its fields, and the daemon reports
readiness, status and liveness (\fBType=notify\fR, \fBWatchdogSec=\fR).
.SH FILES
.TP
.I ~/.config/followup/followup.yaml
The config of a user (\fI/etc/followup/followup.yaml\fR for the system service).
.TP
.I ~/.local/state/followup/
The state (a sled database, \fIstate.json\fR) and the approval queue
(\fIqueue/pending\fR, \fIapproved\fR, \fIrejected\fR, \fIsent\fR);
\fI/var/lib/followup\fR for the system service.
.SH "SEE ALSO"
.BR systemctl (1),
.BR journalctl (1),
.BR systemd.service (5);
the README, \fIdocs/configuration.md\fR and \fIdocs/operations.md\fR
(installed in \fI/usr/share/doc/followup\fR).
"#;

pub fn run() -> Result<()> {
    let man = clap_mangen::Man::new(Cli::command())
        .date(env!("FOLLOWUP_BUILD_DATE"))
        .manual("User Commands");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    page.extend_from_slice(EXTRA.as_bytes());
    man.render_version_section(&mut page)?;
    write_stdout(&page)
}
