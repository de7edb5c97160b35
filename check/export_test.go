package check

// For the rig tests (package check_test): the page checks of html_test.go.
var (
	RenderInChromium = renderInChromium
	CheckPage        = checkPage
)
