//! What a running mock received (counters, recorded requests) and the faults a test
//! queues for it (canned answers, delays).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::state::CannedResponse;
use crate::{MockEndpoint, MockProvider, RecordedRequest};

impl MockProvider {
    /// Requests received by an endpoint so far, faulted ones included.
    pub fn hits(&self, endpoint: MockEndpoint) -> usize {
        self.inner
            .shared
            .lock()
            .traffic
            .get(&endpoint)
            .map_or(0, |t| t.hits)
    }

    /// Token requests with `grant_type=refresh_token` so far.
    pub fn refresh_hits(&self) -> usize {
        self.inner.shared.lock().refresh_hits
    }

    /// The requests an endpoint received, oldest first.
    pub fn requests(&self, endpoint: MockEndpoint) -> Vec<RecordedRequest> {
        self.inner
            .shared
            .lock()
            .traffic
            .get(&endpoint)
            .map(|t| t.requests.clone())
            .unwrap_or_default()
    }

    /// The next `n` requests to `endpoint` get `status` with
    /// `{"error":"server_error","error_description":"injected failure"}`. A `status`
    /// that is not a valid HTTP status code becomes 500.
    pub fn fail_next(&self, endpoint: MockEndpoint, n: usize, status: u16) {
        let body = json!({"error": "server_error", "error_description": "injected failure"});
        self.respond_next(endpoint, n, status, "application/json", body.to_string());
    }

    /// The next `n` requests to `endpoint` get exactly this answer (e.g. an HTML 502
    /// page). A `status` that is not a valid HTTP status code becomes 500, an invalid
    /// content type `application/octet-stream`.
    pub fn respond_next(
        &self,
        endpoint: MockEndpoint,
        n: usize,
        status: u16,
        content_type: &str,
        body: impl Into<Bytes>,
    ) {
        let canned = CannedResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            content_type: HeaderValue::from_str(content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            body: body.into(),
        };
        let mut inner = self.inner.shared.lock();
        let queue = &mut inner.traffic(endpoint).canned;
        queue.extend(std::iter::repeat_n(canned, n));
    }

    /// The next `n` answers of the token endpoint are held `delay` *after* the request
    /// was handled: the tokens are issued (a refresh token rotated away) while the client
    /// still waits, as with a slow network on the way back. For races such as a logout
    /// that lands while a refresh is in flight.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// let mock = axum_oauth_login_mock::MockProvider::start().await.unwrap();
    /// mock.delay_token_answer_next(1, Duration::from_millis(300));
    /// # }
    /// ```
    pub fn delay_token_answer_next(&self, n: usize, delay: Duration) {
        let mut inner = self.inner.shared.lock();
        let queue = &mut inner.traffic(MockEndpoint::Token).answer_delays;
        queue.extend(std::iter::repeat_n(delay, n));
    }

    /// The next `n` requests to `endpoint` wait `delay` before being handled.
    pub fn delay_next(&self, endpoint: MockEndpoint, n: usize, delay: Duration) {
        let mut inner = self.inner.shared.lock();
        let queue = &mut inner.traffic(endpoint).delays;
        queue.extend(std::iter::repeat_n(delay, n));
    }
}
