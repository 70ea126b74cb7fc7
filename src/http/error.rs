//! The API's one error shape: `{"error":{"code","message"}}` with a stable
//! code. 5xx details are logged once and replaced by a generic message.

use crate::service::{AppError, ErrorKind};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A failure of this server: its detail is logged where it happened,
    /// the caller is told no more than this.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }

    /// The server is shutting down: what was asked is not begun.
    pub fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is shutting down; send the request again once it is back",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let code = e.code();
        if e.is_client_error() {
            let status = match code {
                "unsupported_format" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unknown_query" | "unknown_version" => StatusCode::NOT_FOUND,
                "full_access_required" => StatusCode::FORBIDDEN,
                // Well-formed, but too big or too slow as asked: narrow it.
                "query_timeout" | "memory_limit_exceeded" | "result_too_large" | "query_failed_on_data" => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::BAD_REQUEST,
            };
            return Self::new(status, code, e.to_string());
        }
        if e.kind() == ErrorKind::ShuttingDown {
            return Self::shutting_down();
        }
        if e.kind() == ErrorKind::Busy {
            let message = if code == "commit_conflict" {
                "another writer committed this dataset version first; nothing was committed: send the file again"
            } else {
                "another ingest is running; retry later"
            };
            return Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message);
        }
        tracing::error!(code, error = %e, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the details are in the server log",
        )
    }
}

/// What an error answer said, kept beside its JSON body so that a page
/// can say it to a browser (`page::error_pages`).
#[derive(Debug, Clone)]
pub struct Said {
    pub code: &'static str,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        // Every 503 is a moment's refusal (busy, a lost commit race, a
        // shutdown): the caller may try again in a second.
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(1u64));
        }
        response.extensions_mut().insert(Said {
            code: self.code,
            message: self.message,
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WarehouseError;

    #[test]
    fn a_lost_commit_race_is_a_503_commit_conflict_to_send_again() {
        let lost = AppError::Warehouse(WarehouseError::Conflict { version: 7 });
        let response = ApiError::from(lost).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "1");
        let said = response.extensions().get::<Said>().unwrap();
        assert_eq!(said.code, "commit_conflict");
        assert!(said.message.contains("send the file again"), "{}", said.message);
    }
}
