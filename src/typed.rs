//! A JSON user parsed into the app's type once per value, not once per request: the
//! session's user (`AuthSession<U>`), the provider's answer behind a cached token
//! (`BearerUser<U>`, guard predicates). The first type asked for is kept beside the
//! value; another type is parsed each time (an app asks for one).

use std::any::{Any, TypeId};
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde_json::Value;

/// The typed parse of one JSON value, shared by every clone (cheap to clone).
#[derive(Clone, Default)]
pub(crate) struct Typed(Arc<OnceLock<(TypeId, Arc<dyn Any + Send + Sync>)>>);

impl std::fmt::Debug for Typed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Typed")
    }
}

impl Typed {
    /// `value` as `U`: the kept parse when it is a `U`, else parsed now (and kept when
    /// nothing is kept yet).
    pub(crate) fn get<U>(&self, value: &Value) -> Result<Arc<U>, serde_json::Error>
    where
        U: DeserializeOwned + Send + Sync + 'static,
    {
        if let Some((ty, user)) = self.0.get()
            && *ty == TypeId::of::<U>()
            && let Ok(user) = user.clone().downcast::<U>()
        {
            return Ok(user);
        }
        let user = Arc::new(U::deserialize(value)?);
        let _ = self.0.set((TypeId::of::<U>(), user.clone()));
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Person {
        name: String,
    }

    #[test]
    fn parsed_once_per_value_and_shared_by_clones() {
        let value = serde_json::json!({"name": "Ada"});
        let typed = Typed::default();
        let a = typed.get::<Person>(&value).unwrap();
        let b = typed.clone().get::<Person>(&value).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the clone reads the same parse");
        // Another type: parsed, not kept; the first stays.
        assert_eq!(*typed.get::<Value>(&value).unwrap(), value);
        assert!(Arc::ptr_eq(&a, &typed.get::<Person>(&value).unwrap()));
        assert!(typed.get::<Vec<u8>>(&value).is_err());
    }
}
