// Registration point for operator commands that live in their own modules.
export {};
