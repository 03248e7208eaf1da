//! `hush report`: one app's evidence report (issue 16) as one self-contained
//! HTML file. The report itself is built and written by [`hush_report`],
//! which the Android app's "Share report" uses as well; here are only the
//! command's arguments and its closing line.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct ReportArgs {
    /// The app's UID.
    #[arg(long)]
    pub uid: u32,
    /// The database `hush run --db` writes.
    #[arg(long)]
    pub db: PathBuf,
    /// Where to write the report (HTML); replaced if it exists.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn report(args: ReportArgs) -> Result<(), String> {
    // Linux has no app versions to give: the report says it is not known.
    let written = hush_report::write_report(&args.db, args.uid, &args.out, None)
        .map_err(|e| e.to_string())?;
    println!(
        "wrote {}: {} hosts, {} attempts, events SHA-256 {}",
        args.out.display(),
        written.hosts,
        written.attempts,
        written.sha256
    );
    Ok(())
}
