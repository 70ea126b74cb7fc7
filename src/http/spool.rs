//! An upload (a request's body, or the file of a page's multipart form)
//! written to a spool file under `DATA/uploads/` as it arrives,
//! so a file of any size within the limit passes through bounded memory
//! (one 8 MiB buffer). The file is removed when the spool is dropped, and
//! `clean` removes what a killed server left. Once a shutdown begins, an
//! upload still arriving is refused at its next chunk: no ingest would
//! begin with it.

use crate::service::App;
use axum::body::Body;
use axum::body::Bytes;
use futures::{Stream, StreamExt};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes gathered before each write.
const BUFFER: usize = 8 << 20;

pub enum Error {
    TooLarge,
    ShuttingDown,
    Body(String),
    Io(std::io::Error),
}

/// A spooled upload; its file goes away with it.
pub struct Spool {
    path: PathBuf,
}

impl Spool {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn dir(data: &Path) -> PathBuf {
    data.join("uploads")
}

/// Removes spool files of earlier releases (`NAME.part`, without their
/// writer's PID) left by a server that stopped mid-upload. Today's are
/// temporary names (`.NAME.upload.PID.tmp`), which the data directory's
/// sweep at open removes once their process is gone.
pub fn clean(data: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir(data)) {
        for e in entries.filter_map(Result::ok) {
            if e.file_name().to_string_lossy().ends_with(".part") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Streams `body` into a new spool file of `app`'s data directory,
/// refusing it past `limit` bytes.
pub async fn receive(app: &App, body: Body, limit: usize) -> Result<Spool, Error> {
    receive_stream(app, body.into_data_stream(), limit).await
}

/// Streams the chunks of `stream` (a request body, or one part of a
/// multipart form) into a new spool file of `app`'s data directory,
/// refusing it past `limit` bytes, or once `app` is shutting down.
pub async fn receive_stream<E: std::fmt::Display>(
    app: &App,
    stream: impl Stream<Item = Result<Bytes, E>>,
    limit: usize,
) -> Result<Spool, Error> {
    let dir = dir(app.data_dir());
    std::fs::create_dir_all(&dir).map_err(Error::Io)?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    let name = crate::util::digest::hex(&random);
    let spool = Spool {
        path: crate::util::durable::temp_path(&dir.join(format!("{name}.upload")), "tmp"),
    };
    let mut file = Some(std::fs::File::create(&spool.path).map_err(Error::Io)?);
    let mut pending: Vec<u8> = Vec::with_capacity(BUFFER);
    let mut total = 0usize;
    let mut stream = std::pin::pin!(stream);
    loop {
        let next = stream.next().await;
        if app.shutting_down() {
            return Err(Error::ShuttingDown);
        }
        let done = next.is_none();
        if let Some(chunk) = next {
            let chunk = chunk.map_err(|e| Error::Body(e.to_string()))?;
            total += chunk.len();
            if total > limit {
                return Err(Error::TooLarge);
            }
            pending.extend_from_slice(&chunk);
        }
        if pending.len() >= BUFFER || (done && !pending.is_empty()) {
            let mut f = file.take().expect("the file is back after each write");
            let buf = std::mem::take(&mut pending);
            let (f, mut buf) = tokio::task::spawn_blocking(move || f.write_all(&buf).map(|()| (f, buf)))
                .await
                .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?
                .map_err(Error::Io)?;
            buf.clear();
            pending = buf;
            file = Some(f);
        }
        if done {
            break;
        }
    }
    Ok(spool)
}
