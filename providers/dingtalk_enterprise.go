package providers

import (
	"context"
	"fmt"
	"net/url"
)

// DingTalk's enterprise lookup: with the app's corp token, oapi's topapi turns the unionId into the userid
// within the organisation (getbyunionid) and reads the employee record (v2/user/get). Both answer HTTP 200
// with an {errcode, errmsg} envelope.

// topapi errcodes the preset acts on.
const (
	dingNotMember   = 60121 // 找不到该用户: the unionId is not a user of the token's organisation
	dingOutOfScope  = 50002 // 企业员工不在授权范围: outside the app's visible range (应用可见范围)
	dingAuthWrapped = 88    // 鉴权异常: topapi wraps token errors in 88 with a string sub_code
)

// dingCorpTokenRefused reports an answer that says the corp token is invalid or expired: errcode 40014
// (invalid), 42001 (timed out) or 40001 (invalid), bare or wrapped in 88 with that sub_code. The research
// notes infer this rule from the documented codes and observed bodies; DingTalk states no such list.
func dingCorpTokenRefused(errcode int64, obj map[string]any) bool {
	switch errcode {
	case 40014, 42001, 40001:
		return true
	case dingAuthWrapped:
		sub, _ := stringField(obj, "sub_code")
		return sub == "40014" || sub == "42001" || sub == "40001"
	}
	return false
}

// employee finds the user in the organisation by unionId and returns their enterprise claims.
func (p *dingTalk) employee(ctx context.Context, unionID string) (map[string]any, error) {
	byUnion, err := p.topapi(ctx, "topapi/user/getbyunionid", map[string]string{"unionid": unionID})
	if err != nil {
		return nil, err
	}
	userID, ok := stringField(byUnion, "userid")
	if !ok {
		return nil, Errorf(CodeUserinfoFailed, "DingTalk getbyunionid answered without userid")
	}
	detail, err := p.topapi(ctx, "topapi/v2/user/get", map[string]string{"userid": userID, "language": "zh_CN"})
	if err != nil {
		return nil, err
	}
	if got, _ := stringField(detail, "userid"); got != userID {
		return nil, Errorf(CodeUserinfoFailed, "DingTalk v2/user/get answered for userid %q, asked %q", clip(got, 64), userID)
	}
	if got, ok := stringField(detail, "unionid"); ok && got != unionID {
		return nil, Errorf(CodeUserinfoFailed, "DingTalk v2/user/get answered unionid %q for userid %q, want %q", clip(got, 64), userID, unionID)
	}
	return dingTalkFields(detail, "userid", "name", "title", "job_number", "org_email", "mobile"), nil
}

// topapi posts body to an oapi topapi path with the corp token and returns the answer's result. A token the
// answer calls invalid or expired is dropped and the call made once more with a fresh one.
//
// The body is JSON: DingTalk documents form fields, but JSON bodies are reported to work (casdoor), and
// callAPI speaks JSON only.
func (p *dingTalk) topapi(ctx context.Context, path string, body map[string]string) (map[string]any, error) {
	for attempt := 1; ; attempt++ {
		tok, err := p.corpToken.get(ctx)
		if err != nil {
			if ErrorCode(err) == "" {
				err = Errorf(CodeIdPUnavailable, "DingTalk corp token: %w", err)
			}
			return nil, err
		}
		res, err := callAPI(ctx, p.rt.client, apiCall{Method: "POST", URL: p.oapiURL + "/" + path + "?access_token=" + url.QueryEscape(tok),
			Body: body, Stage: StageUserinfo})
		if err != nil {
			return nil, Errorf(CodeUserinfoFailed, "DingTalk %s: %w", path, err)
		}
		errcode, msg, err := errcodeEnvelope(res.Object, false)
		if err != nil || res.Status != 200 {
			return nil, Errorf(CodeUserinfoFailed, "DingTalk %s answered %d: %v", path, res.Status, err)
		}
		detail := fmt.Sprint(errcode)
		switch {
		case errcode == 0:
			result, ok := res.Object["result"].(map[string]any)
			if !ok {
				return nil, Errorf(CodeUserinfoFailed, "DingTalk %s answered errcode 0 without a result object", path)
			}
			return result, nil
		case dingCorpTokenRefused(errcode, res.Object):
			p.corpToken.invalidate(tok)
			if attempt < 2 {
				continue
			}
			return nil, &Error{Code: CodeIdPUnavailable, Detail: detail, Err: fmt.Errorf("DingTalk %s refused a corp token fetched just now: errcode %d %q", path, errcode, clip(msg, 200))}
		case errcode == dingNotMember:
			return nil, &Error{Code: CodeTenantNotAllowed, Detail: detail, Err: fmt.Errorf("the user is not a member of %s (DingTalk %s errcode %d %q)", p.cfg.CorpID, path, errcode, clip(msg, 200))}
		case errcode == dingOutOfScope:
			return nil, &Error{Code: CodeTenantNotAllowed, Detail: detail, Err: fmt.Errorf("the user is outside the app's visible range in %s (DingTalk %s errcode %d %q)", p.cfg.CorpID, path, errcode, clip(msg, 200))}
		}
		return nil, &Error{Code: CodeUserinfoFailed, Detail: detail, Err: fmt.Errorf("DingTalk %s answered errcode %d %q", path, errcode, clip(msg, 200))}
	}
}
