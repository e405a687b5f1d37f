-- Turn away crawlers that ignore robots.txt before they reach an app.
local blocked = { "GPTBot", "CCBot", "Bytespider" }

function envoy_on_request(request_handle)
  local agent = request_handle:headers():get("user-agent") or ""
  for _, name in ipairs(blocked) do
    if string.find(agent, name, 1, true) then
      request_handle:respond({ [":status"] = "403" }, "Forbidden")
      return
    end
  end
end
