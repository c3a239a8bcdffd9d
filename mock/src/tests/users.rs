//! Several users: who can log in, codes and tokens that remember their user, user info
//! that changes while the mock runs, and unknown users.

use super::*;

/// The userinfo answer for `token` (which must be accepted).
async fn userinfo(mock: &MockProvider, token: &str) -> Value {
    let response = http()
        .get(format!("{}/oauth/userinfo", mock.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Logs `email` in through the pages and exchanges the code; returns the token body.
async fn login_as(mock: &MockProvider, email: &str) -> Value {
    let callback = mock
        .authorize_as(email, &authorize_url(mock, &[]))
        .await
        .unwrap();
    let code = param(&callback, "code").expect("a code in the callback");
    let (status, token) = exchange(mock, &code, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token
}

async fn refresh(mock: &MockProvider, refresh_token: &str) -> Value {
    let (status, body) = post_json(
        format!("{}/oauth/token", mock.base_url()),
        json!({
            "grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": mock.client_id(), "client_secret": mock.client_secret(),
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn emails(mock: &MockProvider) -> Vec<String> {
    mock.users().into_iter().map(|u| u.email).collect()
}

#[tokio::test]
async fn the_vcita_mock_knows_owner_and_staff() {
    let mock = MockProvider::start().await.unwrap();
    assert_eq!(emails(&mock), ["owner@example.com", "staff@example.com"]);
    assert_eq!(mock.user().email, "owner@example.com");
    let (owner, staff) = (MockUser::default(), MockUser::staff());
    assert_eq!(staff.password, "password");
    assert_eq!(
        (
            &staff.info["sub"],
            &staff.info["role"],
            &staff.info["email"]
        ),
        (
            &json!("u-1002"),
            &json!("staff"),
            &json!("staff@example.com")
        )
    );
    for key in [
        "type",
        "business_id",
        "business_uid",
        "business_name",
        "directory_uid",
        "brand_host",
        "brand_theme",
    ] {
        assert_eq!(staff.info[key], owner.info[key], "{key}");
    }
    assert_eq!(owner.info["sub"], "u-1001");
    assert_eq!(owner.info["role"], "owner");

    let apicbase = MockProvider::apicbase().start().await.unwrap();
    assert_eq!(emails(&apicbase), ["chef@example.com"]);
}

#[tokio::test]
async fn staff_logs_in_with_authorize_as_and_userinfo_answers_for_staff() {
    let mock = MockProvider::start().await.unwrap();
    let token = login_as(&mock, "Staff@Example.com").await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&mock, access).await, MockUser::staff().info);
    let answer = introspect(&mock, access).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["username"], "staff@example.com");
    assert_eq!(answer["sub"], "u-1002");

    // The owner's login, on the same mock, still answers for the owner.
    let token = login_as(&mock, "owner@example.com").await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&mock, access).await, MockUser::default().info);
    // `authorize` is the primary user's login.
    let code = login_code(&mock, &[]).await;
    let (_, token) = exchange(&mock, &code, json!({})).await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(introspect(&mock, access).await["sub"], "u-1001");
}

#[tokio::test]
async fn the_login_page_takes_each_users_own_password() {
    let staff = MockUser {
        password: "staff-secret".into(),
        ..MockUser::staff()
    };
    let mock = MockProvider::builder()
        .add_user(staff)
        .start()
        .await
        .unwrap();
    let page = http()
        .get(authorize_url(&mock, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let request = browser::hidden_field(&page, pages::REQUEST_FIELD).unwrap();
    let login = |email: &'static str, password: &'static str| {
        let request = request.clone();
        let url = format!("{}/app/oauth/authorize/login", mock.base_url());
        async move {
            let response = http()
                .post(url)
                .form(&[
                    ("email", email),
                    ("password", password),
                    (pages::REQUEST_FIELD, request.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let cookie = response.headers().get("set-cookie").is_some();
            (cookie, response.text().await.unwrap())
        }
    };
    // The owner's password is not staff's, and no user has this email.
    for (email, password) in [
        ("staff@example.com", "password"),
        ("nobody@example.com", "password"),
    ] {
        let (cookie, page) = login(email, password).await;
        assert!(
            !cookie && page.contains("Wrong email or password."),
            "{email}"
        );
    }
    let (cookie, page) = login(" STAFF@example.com ", "staff-secret").await;
    assert!(cookie && page.contains("name=\"decision\""));

    let callback = mock
        .authorize_as("staff@example.com", &authorize_url(&mock, &[]))
        .await
        .unwrap();
    assert!(param(&callback, "code").is_some());
}

#[tokio::test]
async fn a_trusted_clients_code_is_for_the_user_who_logged_in() {
    let mock = MockProvider::builder()
        .default_client(MockClient {
            trusted: true,
            ..MockClient::new("mock-client-id", "mock-client-secret")
        })
        .start()
        .await
        .unwrap();
    let token = login_as(&mock, "staff@example.com").await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&mock, access).await["role"], "staff");
}

#[tokio::test]
async fn tokens_keep_their_user_across_refresh() {
    for rotate in [true, false] {
        let mock = MockProvider::builder()
            .refresh_tokens(true)
            .rotate_refresh_tokens(rotate)
            .start()
            .await
            .unwrap();
        let first = login_as(&mock, "staff@example.com").await;
        let refresh_token = first["refresh_token"].as_str().unwrap().to_owned();
        let answer = introspect(&mock, &refresh_token).await;
        assert_eq!(
            (&answer["username"], &answer["sub"]),
            (&json!("staff@example.com"), &json!("u-1002"))
        );

        let second = refresh(&mock, &refresh_token).await;
        let access = second["access_token"].as_str().unwrap();
        assert_ne!(access, first["access_token"].as_str().unwrap());
        assert_eq!(userinfo(&mock, access).await, MockUser::staff().info);
        assert_eq!(introspect(&mock, access).await["sub"], "u-1002");

        let next = second["refresh_token"]
            .as_str()
            .unwrap_or(&refresh_token)
            .to_owned();
        let third = refresh(&mock, &next).await;
        let access = third["access_token"].as_str().unwrap();
        assert_eq!(userinfo(&mock, access).await["sub"], "u-1002", "{rotate}");
    }
}

#[tokio::test]
async fn apicbase_refresh_and_introspection_keep_an_added_user() {
    let sous = MockUser {
        email: "sous@example.com".into(),
        password: "password".into(),
        info: json!({ "sub": "sous-1", "email": "sous@example.com" }),
    };
    let mock = MockProvider::apicbase()
        .add_user(sous)
        .start()
        .await
        .unwrap();
    assert_eq!(emails(&mock), ["chef@example.com", "sous@example.com"]);
    let callback = mock
        .authorize_as("sous@example.com", &authorize_url(&mock, &[]))
        .await
        .unwrap();
    let code = param(&callback, "code").unwrap();
    let form_post = |fields: Vec<(&'static str, String)>| {
        let url = mock.provider().token_url().clone();
        let mut fields = fields;
        fields.push(("client_id", mock.client_id().to_owned()));
        fields.push(("client_secret", mock.client_secret().to_owned()));
        async move {
            let response = http().post(url).form(&fields).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let token = form_post(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", REDIRECT.into()),
    ])
    .await;
    let introspect_apicbase = |token: String| {
        let url = mock.provider().introspection_url().unwrap().clone();
        let form = vec![
            ("token", token),
            ("client_id", mock.client_id().to_owned()),
            ("client_secret", mock.client_secret().to_owned()),
        ];
        async move {
            let response = http().post(url).form(&form).send().await.unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    let access = token["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect_apicbase(access).await["username"],
        "sous@example.com"
    );
    let refreshed = form_post(vec![
        ("grant_type", "refresh_token".into()),
        (
            "refresh_token",
            token["refresh_token"].as_str().unwrap().into(),
        ),
    ])
    .await;
    let access = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect_apicbase(access).await["username"],
        "sous@example.com"
    );
}

#[tokio::test]
async fn set_user_info_changes_the_next_answer_for_existing_tokens() {
    let mock = MockProvider::start().await.unwrap();
    let owner = mock.issue_token();
    let staff = mock.issue_token_for("staff@example.com").unwrap();
    assert_eq!(userinfo(&mock, &owner).await["role"], "owner");

    let mut demoted = mock.user().info;
    demoted["role"] = json!("staff");
    mock.set_user_info("owner@example.com", demoted.clone())
        .unwrap();
    assert_eq!(userinfo(&mock, &owner).await, demoted);
    assert_eq!(mock.user().info, demoted);
    assert_eq!(mock.users()[0].info, demoted);
    // Only that user changed.
    assert_eq!(userinfo(&mock, &staff).await, MockUser::staff().info);

    mock.update_user_info("STAFF@example.com", |info| {
        info["sub"] = json!("u-2002");
        info["role"] = json!("former");
    })
    .unwrap();
    assert_eq!(userinfo(&mock, &staff).await["role"], "former");
    let answer = introspect(&mock, &staff).await;
    assert_eq!(
        (&answer["username"], &answer["sub"]),
        (&json!("staff@example.com"), &json!("u-2002"))
    );
    // The change sticks for tokens issued later too.
    let later = mock.issue_token_for("staff@example.com").unwrap();
    assert_eq!(userinfo(&mock, &later).await["sub"], "u-2002");

    // The closure may use the handle: it runs without the mock's lock.
    let handle = mock.clone();
    mock.update_user_info("owner@example.com", |info| {
        *info = handle.users()[1].info.clone();
    })
    .unwrap();
    assert_eq!(userinfo(&mock, &owner).await["sub"], "u-2002");
}

#[tokio::test]
async fn unknown_users_are_clear_errors() {
    let mock = MockProvider::start().await.unwrap();
    let unknown = UnknownUser {
        email: "nobody@example.com".into(),
    };
    assert_eq!(
        mock.issue_token_for("nobody@example.com"),
        Err(unknown.clone())
    );
    assert_eq!(
        mock.set_user_info("nobody@example.com", json!({})),
        Err(unknown.clone())
    );
    let mut called = false;
    assert_eq!(
        mock.update_user_info("nobody@example.com", |_| called = true),
        Err(unknown.clone())
    );
    assert!(!called);
    let err = mock
        .authorize_as("nobody@example.com", &authorize_url(&mock, &[]))
        .await
        .unwrap_err();
    assert_eq!(err, unknown.to_string());
    assert_eq!(err, "the mock provider knows no user `nobody@example.com`");
    assert_eq!(mock.hits(MockEndpoint::Authorize), 0, "nothing was sent");
    assert_eq!(emails(&mock), ["owner@example.com", "staff@example.com"]);
}

#[tokio::test]
async fn builder_user_replaces_the_primary_user_and_add_user_adds() {
    let admin = MockUser {
        email: "admin@example.com".into(),
        password: "pw".into(),
        info: json!({ "sub": "u-9" }),
    };
    let mock = MockProvider::builder()
        .user(admin.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(emails(&mock), ["admin@example.com", "staff@example.com"]);
    let code = login_code(&mock, &[]).await;
    let (_, token) = exchange(&mock, &code, json!({})).await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&mock, access).await, admin.info);
    assert_eq!(userinfo(&mock, &mock.issue_token()).await["sub"], "u-9");

    // Primary as staff: staff is not known twice.
    let mock = MockProvider::builder()
        .user(MockUser::staff())
        .start()
        .await
        .unwrap();
    assert_eq!(emails(&mock), ["staff@example.com"]);

    // Order does not matter; the same email replaces in place.
    let mock = MockProvider::builder()
        .add_user(admin.clone())
        .add_user(MockUser {
            info: json!({ "sub": "u-1002-b" }),
            ..MockUser::staff()
        })
        .user(MockUser {
            email: "Owner@Example.com".into(),
            ..MockUser::default()
        })
        .start()
        .await
        .unwrap();
    assert_eq!(
        emails(&mock),
        [
            "Owner@Example.com",
            "staff@example.com",
            "admin@example.com"
        ]
    );
    assert_eq!(mock.users()[1].info["sub"], "u-1002-b");
    let callback = mock
        .authorize_as("admin@example.com", &authorize_url(&mock, &[]))
        .await
        .unwrap();
    let (_, token) = exchange(&mock, &param(&callback, "code").unwrap(), json!({})).await;
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&mock, access).await["sub"], "u-9");

    let apicbase = MockProvider::apicbase().user(admin).start().await.unwrap();
    assert_eq!(emails(&apicbase), ["admin@example.com"]);
}
