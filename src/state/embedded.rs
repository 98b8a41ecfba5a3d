//! The embedded state store: one redb file, ACID, no server.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ChunkRecord, StateError, StateStore, StreamState};

const STREAMS: TableDefinition<&str, &str> = TableDefinition::new("streams");
const CHUNKS: TableDefinition<&str, &str> = TableDefinition::new("chunks");

pub struct EmbeddedStore {
    db: Database,
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/state.redb`.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StateError> {
        let path = dir.join("state.redb");
        let shown = path.display().to_string();
        std::fs::create_dir_all(dir).map_err(|e| StateError::Store { path: shown.clone(), detail: e.to_string() })?;
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StateError::Locked { path: shown.clone() },
            other => StateError::Store { path: shown.clone(), detail: other.to_string() },
        })?;
        Ok(EmbeddedStore { db, path })
    }

    fn err(&self, e: impl std::fmt::Display) -> StateError {
        StateError::Store { path: self.path.display().to_string(), detail: e.to_string() }
    }

    fn get<T: DeserializeOwned>(&self, table: TableDefinition<&str, &str>, key: &str) -> Result<Option<T>, StateError> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        let Some(v) = t.get(key).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        serde_json::from_str(v.value())
            .map(Some)
            .map_err(|e| StateError::Corrupt { key: key.to_string(), detail: e.to_string() })
    }

    fn put<T: Serialize>(&self, table: TableDefinition<&str, &str>, key: &str, v: &T) -> Result<(), StateError> {
        let json = serde_json::to_string(v).map_err(|e| self.err(e))?;
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(table).map_err(|e| self.err(e))?;
            t.insert(key, json.as_str()).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }
}

impl StateStore for EmbeddedStore {
    fn stream(&self, key: &str) -> Result<Option<StreamState>, StateError> {
        self.get(STREAMS, key)
    }
    fn put_stream(&self, key: &str, s: &StreamState) -> Result<(), StateError> {
        self.put(STREAMS, key, s)
    }
    fn chunk(&self, id: &str) -> Result<Option<ChunkRecord>, StateError> {
        self.get(CHUNKS, id)
    }
    fn put_chunk(&self, rec: &ChunkRecord) -> Result<(), StateError> {
        self.put(CHUNKS, &rec.id, rec)
    }
}
