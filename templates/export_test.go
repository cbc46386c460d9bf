package templates

import "testing"

func TestHCLString(t *testing.T) {
	for in, want := range map[string]string{
		"app":          `"app"`,
		`a"b\c`:        `"a\"b\\c"`,
		"${var.x}":     `"$${var.x}"`,
		"%{if true}x":  `"%%{if true}x"`,
		"line\nbreak":  `"line\nbreak"`,
		"<not & html>": `"<not & html>"`,
	} {
		if got := HCLString(in); got != want {
			t.Errorf("HCLString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestRenderExportRequiresValues(t *testing.T) {
	if _, err := RenderTerraform(Export{OrgID: "x", RoleName: "r"}); err == nil {
		t.Error("RenderTerraform without policies succeeded")
	}
	if _, err := RenderCloudFormation(Export{}); err == nil {
		t.Error("RenderCloudFormation without values succeeded")
	}
	if _, err := RenderCloudFormationStackSet(Export{OrgID: "x", RoleName: "r"}); err == nil {
		t.Error("RenderCloudFormationStackSet without policies succeeded")
	}
}
