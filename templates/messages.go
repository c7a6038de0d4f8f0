package templates

// The message tables. Both languages must hold the same keys and codes; a test
// checks that, and that every key a template uses exists.

var uiEN = map[string]string{
	"brand":        "Fuyun contact center",
	"skip":         "Skip to main content",
	"lang.nav":     "Language",
	"footer":       "Single sign-on for the Fuyun contact center. Need help? Contact your administrator.",
	"request_id":   "Request ID",
	"colon":        ": ",
	"action.retry": "Try again",
	"action.home":  "Back to sign-in",

	"signin.title":     "Sign in",
	"signin.heading":   "Sign in to the Fuyun contact center",
	"signin.lead":      "Choose your company account to continue.",
	"signin.providers": "Sign-in options",
	"signin.with":      "Sign in with {name}",
	"signin.none":      "No sign-in method has been set up yet. Please contact your administrator.",
	"signin.note":      "You will be taken to your company’s sign-in page. The Fuyun contact center never sees your password.",
	"signin.error":     "The last sign-in did not work: {title}",
	"signin.discover":  "Or sign in with your work email",
	"continue.title":   "Continue",
	"continue.heading": "Signing in to {company}",
	"continue.lead":    "You are being taken to your company’s sign-in page.",
	"continue.link":    "Continue",
	"signin.email":     "Work email",
	"signin.next":      "Continue",

	"success.title":       "Signed in",
	"success.heading":     "You’re signed in",
	"success.signed_in":   "You are signed in as {user}.",
	"success.via":         "Signed in with {provider}.",
	"success.valid":       "Your session is valid for {duration}.",
	"success.valid_until": "Your session is valid for {duration}, until {time}.",
	"success.close":       "You can now return to the Fuyun contact center, or close this tab.",
	"success.continue":    "Continue",
	"success.token":       "Access token (development mode)",
	"success.token_note":  "Shown only because the bridge runs in development mode. Do not share it.",

	"error.hint":    "What you can do",
	"error.code":    "Error code",
	"error.support": "If you contact your administrator, include the error code and the request ID.",

	"duration.second":  "{n} second",
	"duration.seconds": "{n} seconds",
	"duration.minute":  "{n} minute",
	"duration.minutes": "{n} minutes",
	"duration.hour":    "{n} hour",
	"duration.hours":   "{n} hours",
	"duration.day":     "{n} day",
	"duration.days":    "{n} days",

	"embed.title":                "Sign in",
	"embed.heading":              "Sign in to the Fuyun contact center",
	"embed.lead":                 "A window opens for your company sign-in.",
	"embed.working":              "Finish signing in in the window that opened.",
	"embed.signed_in":            "Signed in as {user}.",
	"embed.error.popup_blocked":  "The sign-in window was blocked. Allow pop-ups for this site and try again.",
	"embed.error.popup_closed":   "The sign-in window was closed before the sign-in finished.",
	"embed.error.timeout":        "The sign-in took too long. Please try again.",
	"embed.error.handoff_failed": "You are signed in, but this page could not store the sign-in. Reload and try again.",
	"embed.error.logout_failed":  "Signing out did not work. Please try again.",
	"embed.signed_out":           "Signed out.",
	"embed.sign_out":             "Sign out",

	"popup.title":     "Signing in",
	"popup.done":      "This window closes by itself.",
	"popup.no_opener": "This window has lost its link to the page that opened it. Close it and sign in again from your CRM.",
}

var uiZH = map[string]string{
	"brand":        "智能联络中心",
	"skip":         "跳到主要内容",
	"lang.nav":     "语言",
	"footer":       "智能联络中心单点登录。如需帮助，请联系管理员。",
	"request_id":   "请求 ID",
	"colon":        "：",
	"action.retry": "重新登录",
	"action.home":  "返回登录页",

	"signin.title":     "登录",
	"signin.heading":   "登录智能联络中心",
	"signin.lead":      "请选择公司账号登录。",
	"signin.providers": "登录方式",
	"signin.with":      "使用 {name} 登录",
	"signin.none":      "尚未配置任何登录方式，请联系管理员。",
	"signin.note":      "您将跳转到公司的登录页面，智能联络中心不会获取您的密码。",
	"signin.error":     "上次登录未成功：{title}",
	"signin.discover":  "或使用工作邮箱登录",
	"continue.title":   "继续",
	"continue.heading": "正在登录{company}",
	"continue.lead":    "正在前往公司的登录页面。",
	"continue.link":    "继续",
	"signin.email":     "工作邮箱",
	"signin.next":      "继续",

	"success.title":       "登录成功",
	"success.heading":     "登录成功",
	"success.signed_in":   "您已登录，当前账号：{user}。",
	"success.via":         "登录方式：{provider}。",
	"success.valid":       "登录有效期为 {duration}。",
	"success.valid_until": "登录有效期为 {duration}，至 {time}。",
	"success.close":       "现在可以返回智能联络中心，或直接关闭此页面。",
	"success.continue":    "继续",
	"success.token":       "访问令牌（开发模式）",
	"success.token_note":  "仅在开发模式下显示，请勿泄露给他人。",

	"error.hint":    "您可以这样做",
	"error.code":    "错误代码",
	"error.support": "联系管理员时，请提供错误代码和请求 ID。",

	"duration.second":  "{n} 秒",
	"duration.seconds": "{n} 秒",
	"duration.minute":  "{n} 分钟",
	"duration.minutes": "{n} 分钟",
	"duration.hour":    "{n} 小时",
	"duration.hours":   "{n} 小时",
	"duration.day":     "{n} 天",
	"duration.days":    "{n} 天",

	"embed.title":                "登录",
	"embed.heading":              "登录智能联络中心",
	"embed.lead":                 "将打开一个窗口进行公司账号登录。",
	"embed.working":              "请在打开的窗口中完成登录。",
	"embed.signed_in":            "已登录：{user}。",
	"embed.error.popup_blocked":  "登录窗口被浏览器拦截。请允许此网站弹出窗口后重试。",
	"embed.error.popup_closed":   "登录完成前登录窗口已被关闭。",
	"embed.error.timeout":        "登录超时，请重试。",
	"embed.error.handoff_failed": "您已登录，但此页面未能保存登录状态。请刷新后重试。",
	"embed.error.logout_failed":  "退出登录失败，请重试。",
	"embed.signed_out":           "已退出登录。",
	"embed.sign_out":             "退出登录",

	"popup.title":     "正在登录",
	"popup.done":      "此窗口将自动关闭。",
	"popup.no_opener": "此窗口已与打开它的页面失去联系。请关闭此窗口，并从 CRM 重新登录。",
}

var errorsEN = map[string]errorText{
	genericError: {
		"Sign-in failed",
		"The sign-in could not be completed.",
		"Try again. If it keeps failing, give your administrator the error code and request ID shown below.",
	},

	"unknown_provider": {
		"Unknown sign-in method",
		"This sign-in link points to an identity provider that is not set up on this service.",
		"Go back to the sign-in page and choose one of the options listed there. If you used a bookmark or a link from another page, ask your administrator for the current sign-in link.",
	},
	"invalid_request": {
		"Invalid sign-in request",
		"The request is missing information or contains values that are not allowed.",
		"Start again from the sign-in page. If the link came from another application, tell its administrator that the link is malformed.",
	},
	"state_missing": {
		"Your sign-in session has expired",
		"Your sign-in took too long, or it was started in another browser, so this browser has no record of it.",
		"Start again and finish the sign-in in the same browser without a long pause. If this keeps happening, check that your browser allows cookies for this site.",
	},
	"state_mismatch": {
		"This sign-in could not be verified",
		"The answer from your identity provider does not belong to the sign-in this browser started. This can happen when several sign-ins are open at once, or when a link has been tampered with.",
		"Close other sign-in tabs and start again. If you did not start this sign-in yourself, do not continue, and tell your administrator.",
	},
	"state_expired": {
		"Sign-in timed out",
		"Too much time passed between starting the sign-in and returning from your identity provider.",
		"Start again and complete the sign-in within a few minutes.",
	},
	"idp_error": {
		"Your identity provider did not sign you in",
		"Your identity provider returned an error instead of signing you in — for example because the sign-in was cancelled, or because your account may not use this application.",
		"If you cancelled, simply try again. Otherwise ask your administrator to check that your account is assigned to the Fuyun contact center application in the identity provider.",
	},
	"invalid_return_to": {
		"Return address not allowed",
		"The page that sent you here asked to return to an address this service is not allowed to redirect to.",
		"Open the Fuyun contact center from its usual address and sign in again. If the link came from your CRM, ask your administrator to add the CRM's address to the bridge's allowed redirects.",
	},
	"cookie_too_large": {
		"Sign-in token too large",
		"The Fuyun contact center issued a token that is too large to be stored in a browser cookie.",
		"This is a configuration problem. Ask your administrator to check the token settings (scopes) of the Fuyun contact center integration.",
	},
	"internal_error": {
		"Something went wrong",
		"An unexpected error occurred in the sign-in service.",
		"Try again in a moment. If it keeps failing, send the request ID below to your administrator.",
	},
	"not_found": {
		"Page not found",
		"The address you opened does not exist on this sign-in service.",
		"Check the address, or go to the sign-in page.",
	},

	"issuer_mismatch": {
		"Answer from an unexpected identity provider",
		"The sign-in answer claims to come from a different identity provider than the one you chose, so it was rejected to protect your account.",
		"Start again. If it happens again, tell your administrator: the issuer configured for this identity provider may be wrong.",
	},
	"idp_unavailable": {
		"Identity provider unreachable",
		"The sign-in service could not reach your company's identity provider.",
		"Try again in a minute. If it persists, ask your administrator whether the identity provider is down or blocked by the network.",
	},
	"idp_token_failed": {
		"Identity provider refused the sign-in",
		"Your identity provider did not accept the sign-in code, so no token was issued.",
		"Start again: a sign-in code works only once and only for a short time. If it keeps failing, ask your administrator to check the client ID, client secret and redirect URL registered for this application.",
	},
	"id_token_missing": {
		"Identity token missing",
		"Your identity provider did not return the ID token that is needed to confirm who you are.",
		"Ask your administrator to check that the application requests the “openid” scope.",
	},
	"id_token_invalid": {
		"Identity token could not be verified",
		"The ID token from your identity provider failed verification (signature, audience or validity period).",
		"Start again. If it keeps failing, ask your administrator to check the client ID and issuer of this identity provider, and that the server's clock is correct.",
	},
	"nonce_mismatch": {
		"Identity token does not match this sign-in",
		"The ID token was issued for a different sign-in attempt, so it was rejected.",
		"Close other sign-in tabs and start again.",
	},
	"userinfo_failed": {
		"Could not read your profile",
		"The sign-in service could not fetch your user profile from your identity provider.",
		"Try again in a minute. If it persists, ask your administrator to check that the application may read user profiles (for example the “profile” and “email” scopes).",
	},
	"userinfo_sub_mismatch": {
		"Profile does not match your identity",
		"The profile returned by your identity provider belongs to a different user than the ID token.",
		"Start again. If it happens again, tell your administrator: the identity provider may be misconfigured or compromised.",
	},
	"tenant_not_found": {
		"Company not found",
		"This sign-in address does not belong to any company set up in the sign-in service.",
		"Use the sign-in link your company gave you, or ask your administrator for it.",
	},
	"tenant_changed": {
		"Sign-in settings changed",
		"Your company's sign-in settings changed while you were signing in, so this sign-in cannot finish.",
		"Sign in again: the new settings apply from now on.",
	},
	"tenant_unavailable": {
		"Company sign-in unavailable",
		"Your company's sign-in settings cannot be used right now.",
		"Try again in a few minutes. If it keeps happening, tell your administrator the error code and the request ID.",
	},
	"rate_limited": {
		"Too many attempts",
		"This computer has sent too many requests in a short time.",
		"Wait a minute, then try again.",
	},
	"unknown_domain": {
		"No company for this email address",
		"No company set up in the sign-in service uses your email address's domain.",
		"Check the email address, or use the sign-in link your company gave you.",
	},
	"tenant_not_allowed": {
		"Your organization is not allowed",
		"You signed in with an account from an organization (tenant) that may not use the Fuyun contact center.",
		"Sign in with the work account of the right company. If you think this is wrong, ask your administrator to allow your organization.",
	},
	"invalid_token": {
		"Invalid token",
		"The token presented to the sign-in service is invalid or has expired.",
		"Sign in again to get a new token.",
	},

	"mapping_missing": {
		"No Fuyun contact center account in your profile",
		"Your account has no email address (or other identifier) that the Fuyun contact center recognises.",
		"Ask your administrator to add the missing attribute (for example your email address) to your account in the identity provider, or to change which field the sign-in service reads.",
	},
	"mapping_unverified": {
		"Email address not verified",
		"The email address (or phone number) in your profile has not been verified by your identity provider, so it cannot be used to sign you in.",
		"Verify it in your identity provider account, or ask your administrator to mark it as verified.",
	},
	"mapping_domain_not_allowed": {
		"Email domain not allowed",
		"The email domain of your account is not one of the domains allowed to sign in to the Fuyun contact center.",
		"Sign in with your work account. If you already did, ask your administrator to add your domain to the allowed domains.",
	},
	"mapping_not_in_table": {
		"No agent account assigned to you",
		"You were identified, but your account is not in the table that links accounts to Fuyun contact center agents.",
		"Ask your administrator to add your account to the agent mapping table (the accounts file).",
	},
	"mapping_invalid": {
		"Account name not usable",
		"The value taken from your profile cannot be turned into a valid Fuyun contact center account name (for example, a phone number in the wrong format).",
		"Ask your administrator to correct this value in your identity provider profile, or to adjust how the sign-in service transforms it.",
	},
	"mapping_claim_not_allowed": {
		"Your organisation is not allowed here",
		"Your account belongs to an organisation, tenant or domain that this sign-in service does not admit.",
		"Sign in with your work account. If it is the right account, ask your administrator to add your organisation to the allowed list (require_claims).",
	},

	"fuyun_rejected": {
		"The Fuyun contact center refused your sign-in",
		"Your identity was confirmed, but the Fuyun contact center did not accept it: there is no agent with your account name, or that agent may not sign in.",
		"Ask your administrator to create the agent in the Fuyun contact center with the right account name (AccountName), or to enable it.",
	},
	"fuyun_unavailable": {
		"Fuyun contact center temporarily unavailable",
		"The Fuyun contact center cannot be reached right now.",
		"Try again in a minute.",
	},

	"embed_origin_not_allowed": {
		"This page may not embed the sign-in",
		"The sign-in widget was opened for a page whose address is not on the bridge's list of allowed CRM pages.",
		"Open the Fuyun contact center from your CRM's usual address. If that is what you did, ask your administrator to add the CRM's address to embed.allowed_origins.",
	},
	"handoff_invalid": {
		"Sign-in could not be handed over",
		"The sign-in finished in its window, but handing it over to this page failed: it took too long, or it belongs to another sign-in.",
		"Sign in again from the same page, and finish within a minute.",
	},
	"cross_origin_request": {
		"Request from another site refused",
		"This request came from a page of another site, so it was refused to protect your account.",
		"Use the sign-out button of the Fuyun contact center itself. If your CRM sent you here, ask your administrator to add its address to the allowed origins.",
	},
}

var errorsZH = map[string]errorText{
	genericError: {
		"登录失败",
		"无法完成本次登录。",
		"请重试。如果仍然失败，请将下方的错误代码和请求 ID 提供给管理员。",
	},

	"unknown_provider": {
		"未知的登录方式",
		"此登录链接指向的身份提供方未在本服务中配置。",
		"请返回登录页，从列出的方式中选择一种。如果您是通过书签或其他页面的链接进入的，请向管理员索取最新的登录链接。",
	},
	"invalid_request": {
		"登录请求无效",
		"请求缺少必要信息，或包含不允许的参数。",
		"请从登录页重新开始。如果链接来自其他应用，请告知该应用的管理员：链接格式有误。",
	},
	"state_missing": {
		"登录会话已失效",
		"登录耗时过长，或登录是在另一个浏览器中发起的，当前浏览器中没有对应的登录记录。",
		"请在同一个浏览器中重新登录，并尽快完成。如果反复出现，请确认浏览器允许本网站使用 Cookie。",
	},
	"state_mismatch": {
		"无法验证本次登录",
		"身份提供方返回的结果与本浏览器发起的登录不一致。同时打开多个登录页面，或链接被篡改，都可能导致这种情况。",
		"请关闭其他登录页面后重新登录。如果这次登录并非您本人发起，请不要继续，并告知管理员。",
	},
	"state_expired": {
		"登录已超时",
		"从发起登录到身份提供方返回，间隔时间过长。",
		"请重新登录，并在几分钟内完成。",
	},
	"idp_error": {
		"身份提供方未完成登录",
		"身份提供方返回了错误，没有完成登录。例如您取消了登录，或您的账号无权使用此应用。",
		"如果是您主动取消的，重新登录即可。否则，请联系管理员，确认已在身份提供方中为您的账号分配了智能联络中心应用。",
	},
	"invalid_return_to": {
		"不允许的返回地址",
		"跳转到此处的页面要求登录后返回一个未经许可的地址。",
		"请从平时使用的地址打开智能联络中心，再重新登录。如果链接来自 CRM 系统，请联系管理员将该系统的地址加入允许跳转的列表。",
	},
	"cookie_too_large": {
		"登录令牌过大",
		"智能联络中心签发的令牌超出了浏览器 Cookie 的大小限制，无法保存。",
		"这是配置问题。请联系管理员检查智能联络中心集成的令牌设置（如权限范围 scope）。",
	},
	"internal_error": {
		"服务出现异常",
		"登录服务发生了意外错误。",
		"请稍后重试。如果问题持续，请将下方的请求 ID 发送给管理员。",
	},
	"not_found": {
		"页面不存在",
		"您访问的地址在此登录服务中不存在。",
		"请检查地址是否正确，或前往登录页。",
	},

	"issuer_mismatch": {
		"响应来自非预期的身份提供方",
		"登录响应声称来自另一个身份提供方，与您选择的不一致。为保护您的账号，该响应已被拒绝。",
		"请重新登录。如果再次出现，请告知管理员：该身份提供方的颁发者（issuer）配置可能有误。",
	},
	"idp_unavailable": {
		"无法连接身份提供方",
		"登录服务无法连接到贵公司的身份提供方。",
		"请一分钟后重试。如果持续出现，请联系管理员确认身份提供方是否故障，或是否被网络策略拦截。",
	},
	"idp_token_failed": {
		"身份提供方拒绝了登录",
		"身份提供方没有接受登录授权码，因此未签发令牌。",
		"请重新登录（授权码只能使用一次，且有效期很短）。如果反复失败，请联系管理员检查此应用登记的 Client ID、Client Secret 和回调地址。",
	},
	"id_token_missing": {
		"缺少身份令牌",
		"身份提供方没有返回确认您身份所需的 ID 令牌。",
		"请联系管理员，确认该应用已申请 openid 权限范围（scope）。",
	},
	"id_token_invalid": {
		"身份令牌校验失败",
		"身份提供方返回的 ID 令牌未通过校验（签名、受众或有效期）。",
		"请重新登录。如果反复失败，请联系管理员检查该身份提供方的 Client ID 和颁发者（issuer）配置，以及服务器时间是否准确。",
	},
	"nonce_mismatch": {
		"身份令牌与本次登录不匹配",
		"该 ID 令牌属于另一次登录尝试，已被拒绝。",
		"请关闭其他登录页面后重新登录。",
	},
	"userinfo_failed": {
		"无法读取您的用户资料",
		"登录服务未能从身份提供方获取您的用户资料。",
		"请一分钟后重试。如果持续出现，请联系管理员确认该应用有权读取用户资料（例如 profile 和 email 权限范围）。",
	},
	"userinfo_sub_mismatch": {
		"用户资料与身份不符",
		"身份提供方返回的用户资料与 ID 令牌中的用户不是同一人。",
		"请重新登录。如果再次出现，请告知管理员：身份提供方可能配置有误或存在安全问题。",
	},
	"tenant_not_found": {
		"未找到公司",
		"此登录地址不属于登录服务中已配置的任何公司。",
		"请使用公司提供的登录链接，或向管理员索取。",
	},
	"tenant_changed": {
		"登录设置已变更",
		"您登录期间，公司的登录设置发生了变更，因此本次登录无法完成。",
		"请重新登录，新的设置即刻生效。",
	},
	"tenant_unavailable": {
		"公司登录暂不可用",
		"您公司的登录设置目前无法使用。",
		"请几分钟后重试。如果问题持续，请将错误代码和请求 ID 告知管理员。",
	},
	"rate_limited": {
		"尝试次数过多",
		"此计算机在短时间内发送了过多请求。",
		"请稍等一分钟后再试。",
	},
	"unknown_domain": {
		"没有与此邮箱对应的公司",
		"登录服务中没有任何公司使用您邮箱地址的域名。",
		"请检查邮箱地址，或使用公司提供的登录链接。",
	},
	"tenant_not_allowed": {
		"您所在的组织未获许可",
		"您登录所用的账号属于一个未获准使用智能联络中心的组织（租户）。",
		"请改用所在公司的工作账号登录。如果您认为有误，请联系管理员将您的组织加入允许列表。",
	},
	"invalid_token": {
		"令牌无效",
		"提交给登录服务的令牌无效或已过期。",
		"请重新登录以获取新的令牌。",
	},

	"mapping_missing": {
		"资料中缺少智能联络中心账号信息",
		"您的账号中没有智能联络中心能够识别的邮箱地址（或其他标识）。",
		"请联系管理员在身份提供方中为您的账号补充所需信息（例如邮箱地址），或调整登录服务读取的字段。",
	},
	"mapping_unverified": {
		"邮箱地址未经验证",
		"您资料中的邮箱地址（或手机号）尚未经过身份提供方验证，因此不能用于登录。",
		"请在身份提供方的账号设置中完成验证，或请管理员将其标记为已验证。",
	},
	"mapping_domain_not_allowed": {
		"邮箱域名未获许可",
		"您账号的邮箱域名不在智能联络中心允许的域名列表中。",
		"请使用工作账号登录。如果您使用的已是工作账号，请联系管理员将您的域名加入允许列表。",
	},
	"mapping_not_in_table": {
		"尚未为您分配坐席账号",
		"已识别您的身份，但账号对照表中没有您对应的智能联络中心坐席。",
		"请联系管理员将您的账号加入坐席对照表（accounts 文件）。",
	},
	"mapping_invalid": {
		"账号名无效",
		"从您资料中读取的值无法转换为有效的智能联络中心账号名（例如手机号格式不正确）。",
		"请联系管理员更正您在身份提供方中的资料，或调整登录服务对该值的转换规则。",
	},
	"mapping_claim_not_allowed": {
		"您的组织不在允许范围内",
		"您的账号所属的组织、租户或域不在此登录服务允许的范围内。",
		"请使用工作账号登录。如果账号无误，请联系管理员将您的组织加入允许列表（require_claims）。",
	},

	"fuyun_rejected": {
		"智能联络中心拒绝了登录",
		"您的身份已确认，但智能联络中心没有接受：不存在与您账号名对应的坐席，或该坐席不允许登录。",
		"请联系管理员在智能联络中心中以正确的账号名（AccountName）创建坐席，或启用该坐席。",
	},
	"fuyun_unavailable": {
		"智能联络中心暂时无法访问",
		"目前无法连接到智能联络中心。",
		"请一分钟后重试。",
	},

	"embed_origin_not_allowed": {
		"此页面不能嵌入登录",
		"登录组件所在页面的地址不在允许嵌入的 CRM 页面列表中。",
		"请从 CRM 的常用地址打开智能联络中心。如果您正是这样做的，请联系管理员将该 CRM 地址加入 embed.allowed_origins。",
	},
	"handoff_invalid": {
		"无法转交登录状态",
		"登录已在弹出窗口中完成，但转交给此页面失败：耗时过长，或属于另一次登录。",
		"请在同一页面重新登录，并在一分钟内完成。",
	},
	"cross_origin_request": {
		"已拒绝来自其他网站的请求",
		"此请求来自其他网站的页面，为保护您的账号已被拒绝。",
		"请使用智能联络中心自身的退出按钮。如果是 CRM 将您带到此处，请联系管理员将其地址加入允许的来源。",
	},
}
