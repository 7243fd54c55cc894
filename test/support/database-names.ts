export const TEMPLATE_DATABASE = "ordergate_test_template";
