//! Helpers shared by the HTTP tests of the tool-call lifecycle and the dev clock.
#![allow(dead_code)]

use paybond_devserver::{DevIntent, DevIntentRequest, DevServerConfig, LocalHarbor};
use serde_json::{json, Value};

/// A dev server, a client, and the seeded tenant's Harbor JWT.
pub struct T {
    pub h: LocalHarbor,
    pub c: reqwest::Client,
    pub jwt: String,
    pub tenant: String,
}

/// An answer: status and JSON body.
pub type Answer = (u16, Value);

impl T {
    pub async fn start(cfg: DevServerConfig) -> Self {
        let h = LocalHarbor::start(cfg).await.unwrap();
        let c = reqwest::Client::new();
        let (jwt, tenant) = exchange(&c, &h, h.api_key()).await;
        T { h, c, jwt, tenant }
    }

    pub async fn new() -> Self {
        Self::start(DevServerConfig::default()).await
    }

    pub fn intent(&self, amount: i64, threshold: Option<i64>) -> DevIntent {
        self.h
            .create_intent(&DevIntentRequest {
                allowed_tools: vec!["book".into(), "search".into()],
                amount_cents: amount,
                approval_threshold_cents: threshold,
                ..Default::default()
            })
            .unwrap()
    }

    /// `method path` on Harbor with this tenant's JWT.
    pub async fn harbor(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let rb = self
            .c
            .request(method, format!("{}{path}", self.h.harbor_url))
            .bearer_auth(&self.jwt)
            .header("x-tenant-id", &self.tenant);
        send(rb, body).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.harbor(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.harbor(reqwest::Method::GET, path, None).await
    }

    /// `POST /verify`, asserting HTTP 200.
    pub async fn verify(&self, body: &Value) -> Value {
        let (s, v) = self.post("/verify", body).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    pub async fn complete(&self, decision_id: &str, outcome: &str) -> Answer {
        self.post(
            &format!("/v1/spend/decisions/{decision_id}/complete"),
            &json!({ "outcome": outcome }),
        )
        .await
    }

    pub async fn remaining(&self, intent: &DevIntent) -> i64 {
        let (s, v) = self.get(&format!("/intents/{}", intent.intent_id)).await;
        assert_eq!(s, 200, "{v}");
        v["remaining_cents"].as_i64().unwrap()
    }

    /// `POST /v1/approvals/{id}` on Harbor with `bearer` (an API key or a JWT).
    pub async fn decide(&self, bearer: &str, id: &str, body: &Value) -> Answer {
        let rb = self
            .c
            .post(format!("{}/v1/approvals/{id}", self.h.harbor_url))
            .bearer_auth(bearer);
        send(rb, Some(body)).await
    }

    /// `POST /dev/v1/clock/advance`.
    pub async fn advance(&self, body: &Value) -> Answer {
        let rb = self
            .c
            .post(format!("{}/dev/v1/clock/advance", self.h.harbor_url));
        send(rb, Some(body)).await
    }
}

pub async fn send(rb: reqwest::RequestBuilder, body: Option<&Value>) -> Answer {
    let rb = match body {
        Some(b) => rb.json(b),
        None => rb,
    };
    let r = rb.send().await.unwrap();
    let s = r.status().as_u16();
    let text = r.text().await.unwrap();
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Exchanges an API key for `(jwt, tenant)`.
pub async fn exchange(c: &reqwest::Client, h: &LocalHarbor, key: &str) -> (String, String) {
    let (s, v) = send(
        c.post(format!("{}/v1/auth/harbor-access", h.gateway_url))
            .bearer_auth(key),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    (
        v["access_token"].as_str().unwrap().to_owned(),
        v["tenant_id"].as_str().unwrap().to_owned(),
    )
}

/// `v[k]`, asserted to be a UUID string.
pub fn uuid_of(v: &Value, k: &str) -> String {
    let s = v[k].as_str().unwrap_or_else(|| panic!("no {k} in {v}"));
    uuid::Uuid::parse_str(s).unwrap_or_else(|_| panic!("{k} is not a UUID: {v}"));
    s.to_owned()
}

/// The args digest of tool arguments `args` (the kit's canonical JSON digest).
pub fn digest(args: &Value) -> String {
    hex::encode(paybond_kit::digest::json_value_digest(args))
}

/// A verify body for `op` and `spend`, with an optional call id and args digest.
pub fn verify_body(
    intent: &DevIntent,
    op: &str,
    spend: i64,
    call: Option<&str>,
    args_digest: Option<&str>,
) -> Value {
    let mut b = json!({
        "intent_id": intent.intent_id, "token": intent.capability_token,
        "operation": op, "requested_spend_cents": spend,
    });
    if let Some(c) = call {
        b["tool_call_id"] = json!(c);
    }
    if let Some(d) = args_digest {
        b["args_digest"] = json!(d);
    }
    b
}
